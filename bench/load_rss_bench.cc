// Peak resident memory of loading a model's weights, from the kernel.
//
// Writes a synthetic model of a preset's shape (model init, bf16) into a
// temporary directory, then measures, each in a fresh child process (so each
// peak is its own), the growth of VmHWM (/proc/self/status: peak resident set,
// mapped file pages included) over the child's start for:
//   headers      WeightFiles::Open: the index and every header, no tensor data
//   block        LoadModelDir of one middle block of 2 layers (what auditing a
//                cell loads), against that block's stored bytes
//   whole        LoadModelDir of the whole model (what eval, generate and
//                serve load), against the weight files' size
// and prints each peak with its ratio to the stored bytes it needs. The
// directory is removed at the end.
//
// Usage: load_rss_bench [--preset NAME] [--layers N] [--dir DIR]
//   (default: llama-3.2-1b, 4 layers, under /tmp)
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "model/model_dir.h"
#include "model/model_init.h"
#include "model/weight_files.h"

namespace {

using aftune::Status;

// VmHWM in bytes.
uint64_t PeakRss() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::strtoull(line.c_str() + 6, nullptr, 10) * 1024;
  return 0;
}

// Runs fn in a child; returns its peak RSS growth in bytes (0 on failure).
uint64_t ChildPeak(const std::function<Status()>& fn) {
  int fds[2];
  if (::pipe(fds) != 0) return 0;
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    const uint64_t start = PeakRss();
    const Status st = fn();
    if (!st.ok()) std::fprintf(stderr, "%s\n", st.ToString().c_str());
    const uint64_t grown = st.ok() ? PeakRss() - start : 0;
    if (::write(fds[1], &grown, sizeof grown) != sizeof grown) _exit(1);
    _exit(st.ok() ? 0 : 1);
  }
  ::close(fds[1]);
  uint64_t grown = 0;
  if (::read(fds[0], &grown, sizeof grown) != sizeof grown) grown = 0;
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return grown;
}

double MiB(uint64_t b) { return static_cast<double>(b) / (1 << 20); }

}  // namespace

int main(int argc, char** argv) {
  std::string preset = "llama-3.2-1b", dir = "/tmp/aftune-load-rss-" + std::to_string(::getpid());
  int64_t layers = 4;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--preset") preset = argv[i + 1];
    else if (flag == "--layers") layers = std::atoll(argv[i + 1]);
    else if (flag == "--dir") dir = argv[i + 1];
    else {
      std::fprintf(stderr, "usage: load_rss_bench [--preset NAME] [--layers N] [--dir DIR]\n");
      return 2;
    }
  }
  aftune::Result<aftune::ModelConfig> cfg = aftune::PresetConfig(preset);
  if (!cfg.ok() || layers < 3) {
    std::fprintf(stderr, "%s\n", cfg.ok() ? "--layers must be >= 3" : cfg.status().ToString().c_str());
    return 2;
  }
  cfg->num_hidden_layers = layers;
  if (Status st = aftune::WriteInitModel(dir, *cfg, 1); !st.ok()) {
    std::fprintf(stderr, "%s\n", st.ToString().c_str());
    return 1;
  }
  const aftune::WeightFiles files = aftune::WeightFiles::Open(dir).value();
  uint64_t file_bytes = 0, block_bytes = 0;
  const aftune::LayerSpan block{1, 3};
  for (const aftune::SafetensorsFile& f : files.files()) file_bytes += f.file_bytes().size();
  for (const auto& [name, shape] : aftune::BaseTensorShapes(*cfg, block))
    block_bytes += files.Find(name).entry->bytes.size();

  std::printf("%s, %lld layers, bf16: %zu weight file(s), %.1f MiB; block [1, 3): %.1f MiB stored\n",
              preset.c_str(), static_cast<long long>(layers), files.files().size(), MiB(file_bytes),
              MiB(block_bytes));
  std::printf("%-8s %12s %12s %8s\n", "load", "peak MiB", "stored MiB", "ratio");
  auto row = [](const char* what, uint64_t peak, uint64_t stored) {
    std::printf("%-8s %12.1f %12.1f %8.2f\n", what, MiB(peak), MiB(stored),
                stored ? static_cast<double>(peak) / static_cast<double>(stored) : 0.0);
  };
  row("headers", ChildPeak([&] { return aftune::WeightFiles::Open(dir).status(); }), 0);
  row("block", ChildPeak([&] { return aftune::LoadModelDir(dir, block).status(); }), block_bytes);
  row("whole", ChildPeak([&] { return aftune::LoadModelDir(dir).status(); }), file_bytes);
  std::filesystem::remove_all(dir);
  return 0;
}
