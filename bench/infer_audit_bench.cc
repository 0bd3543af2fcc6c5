// Inference audit re-execution vs the generation it checks (issue 6): for
// the same requests, the CPU and wall time of generating them (one at a
// time, as a lone client is served, and all in one batch, as under load)
// and of re-executing them as `aftune audit infer` does (ReplayChoices: one
// teacher-forced forward pass per request, then the sampler at every
// position). Prints the ratios; the target is generation >= 5x the
// re-execution.
//
// Usage: infer_audit_bench [--requests N] [--tokens T] [--reps R]
//   N requests (default 16) of a 20-token prompt and T sampled tokens
//   (default 16; temperature 0.8, no stop, no EOS cut: every request runs
//   T steps), the `small` preset; each measurement repeated R times
//   (default 3), the median reported.
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "infer/generator.h"
#include "infer/served_model.h"
#include "model/model_dir.h"
#include "model/model_init.h"

namespace aftune {
namespace {

struct Cost {
  double cpu_s = 0, wall_s = 0;
};

double CpuSeconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// The median over `reps` runs of `work`, CPU and wall separately.
Cost Measure(int reps, const std::function<void()>& work) {
  std::vector<double> cpu, wall;
  for (int i = 0; i < reps; ++i) {
    const double c0 = CpuSeconds();
    const auto w0 = std::chrono::steady_clock::now();
    work();
    cpu.push_back(CpuSeconds() - c0);
    wall.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count());
  }
  std::sort(cpu.begin(), cpu.end());
  std::sort(wall.begin(), wall.end());
  return {cpu[cpu.size() / 2], wall[wall.size() / 2]};
}

int Arg(int argc, char** argv, const char* name, int fallback) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], name) == 0) return std::atoi(argv[i + 1]);
  return fallback;
}

}  // namespace
}  // namespace aftune

int main(int argc, char** argv) {
  using namespace aftune;
  const int n = Arg(argc, argv, "--requests", 16), tokens = Arg(argc, argv, "--tokens", 16),
            reps = Arg(argc, argv, "--reps", 3);
  const std::string dir = (std::filesystem::temp_directory_path() / "aftune-infer-audit-bench").string();
  std::filesystem::remove_all(dir);
  const ModelConfig cfg = PresetConfig("small").value();
  if (!SaveModelDir(dir, cfg, InitModel(cfg, 1)).ok()) return 1;
  auto model = LoadServedModel(dir, "").value();
  // An EOS id no sampler can pick: every request runs exactly `tokens` steps.
  const Generator generator(*model->decoder, {static_cast<int32_t>(cfg.vocab_size)},
                            [&](const std::vector<int32_t>& ids) { return model->tokenizer->Decode(ids); });
  std::vector<GenerationRequest> requests;
  for (int i = 0; i < n; ++i) {
    GenerationRequest r;
    for (int t = 0; t < 20; ++t) r.prompt.push_back(static_cast<int32_t>((i * 31 + t * 7) % 250 + 1));
    r.max_tokens = tokens;
    r.sampling = {0.8f, 1.0f, 0, static_cast<uint64_t>(i)};
    requests.push_back(r);
  }
  std::vector<std::vector<int32_t>> outputs(requests.size());
  const Cost alone = Measure(reps, [&] {
    for (size_t i = 0; i < requests.size(); ++i) outputs[i] = generator.Generate({requests[i]})[0].tokens;
  });
  const Cost batched = Measure(reps, [&] { generator.Generate(requests); });
  int mismatches = 0;
  const Cost replay = Measure(reps, [&] {
    for (size_t i = 0; i < requests.size(); ++i)
      mismatches += ReplayChoices(*model->decoder, requests[i], outputs[i], nullptr) != outputs[i];
  });
  std::filesystem::remove_all(dir);
  std::printf("small preset, %d requests x (20 prompt + %d generated tokens), median of %d\n", n, tokens, reps);
  std::printf("| work | CPU s | wall s | generation / re-execution (CPU) | (wall) |\n|---|---|---|---|---|\n");
  std::printf("| generation, one request at a time | %.3f | %.3f | %.2f | %.2f |\n", alone.cpu_s, alone.wall_s,
              alone.cpu_s / replay.cpu_s, alone.wall_s / replay.wall_s);
  std::printf("| generation, all in one batch | %.3f | %.3f | %.2f | %.2f |\n", batched.cpu_s, batched.wall_s,
              batched.cpu_s / replay.cpu_s, batched.wall_s / replay.wall_s);
  std::printf("| audit re-execution (ReplayChoices) | %.3f | %.3f | 1 | 1 |\n", replay.cpu_s, replay.wall_s);
  std::printf("re-executions that did not reproduce the generation: %d (must be 0)\n", mismatches / reps);
  return mismatches == 0 ? 0 : 1;
}
