#include "cli/commands.h"

#include <cstdio>
#include <memory>

#include "tensor/thread_pool.h"

namespace aftune::cli {

namespace {
int g_exit_code = 0;
}

void AddThreadsOption(CLI::App* cmd) {
  auto threads = std::make_shared<int>(0);
  cmd->add_option("--threads", *threads,
                  "worker threads (default: $AFTUNE_THREADS, else all cores); "
                  "results are bit-identical for every value")
      ->check(CLI::Range(1, 1024));
  cmd->parse_complete_callback([threads] {
    if (*threads > 0) SetDefaultThreads(*threads);
  });
}

void Finish(const Status& st) {
  if (st.ok()) {
    g_exit_code = 0;
    return;
  }
  std::fprintf(stderr, "aftune: %s\n", st.ToString().c_str());
  g_exit_code = 1;
}

void SetExitCode(int code) { g_exit_code = code; }

int ExitCode() { return g_exit_code; }

}  // namespace aftune::cli
