// aftune: the command-line front end. Each subcommand lives in its own file
// (cmd_*.cc) and registers itself here; this file only parses and dispatches.
#include <CLI/CLI.hpp>

#include <malloc.h>

#include <cstdio>

#include "cli/commands.h"

int main(int argc, char** argv) {
  // Training allocates the same large activation tensors every step: keep
  // freed memory in the process instead of returning it to the OS and paying
  // page faults to get it back.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);  // glibc's maximum
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  CLI::App app{"aftune: auditable fine-tuning and inference of LLaMA-family models"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "aftune 0.1");
  aftune::cli::RegisterModelCommands(app);
  aftune::cli::RegisterTrainCommands(app);
  aftune::cli::RegisterGenerateCommands(app);
  aftune::cli::RegisterEvalCommands(app);
  aftune::cli::RegisterKeyCommands(app);
  aftune::cli::RegisterDigestCommands(app);
  aftune::cli::RegisterContractCommands(app);
  aftune::cli::RegisterServeCommands(app);
  aftune::cli::RegisterProvideCommands(app);
  aftune::cli::RegisterClientCommands(app);
  aftune::cli::RegisterOpenCommands(app);
  aftune::cli::RegisterAuditCommands(app);
  aftune::cli::RegisterChatCommands(app);
  aftune::cli::RegisterTokenizeCommands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Usage errors exit 2 (--help exits 0).
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  return aftune::cli::ExitCode();
}
