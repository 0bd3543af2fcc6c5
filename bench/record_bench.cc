// The cost of recording (issue 4): training time with the trace recorder and
// its tensor store against the same training without, on the `small` preset,
// LoRA (r=8 on q,v) and full fine-tuning, audit grid B_S = 8, B_L = 2 and
// I_C, I_A in {1, 8}; plus the bytes the store keeps per step. Targets at
// I_C = I_A = 8: overhead <= 3% with LoRA, <= 10% with full fine-tuning.
//
// Every configuration trains the same steps from the same start (recording
// never changes a bit; the bench checks the final state digests agree).
// Repetitions are interleaved — each round runs every configuration once —
// so all see the same machine load; every run is printed, and the figures
// are the medians over the rounds. Overheads are given in wall time and in
// process CPU time (which other load on the shared machine disturbs less),
// each the ratio of the medians. "last step s" is the wall time of the last
// EndStep, which returns with the final state digested, kept and durable.
//
//   record_bench [steps (default 64)] [reps (default 5)] [grids: all | target (default all)]
//
// "target" runs only the grid the targets name (I_C = I_A = 8) beside the
// run without recording.
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "model/model_init.h"
#include "model/tokenizer.h"
#include "tensor/philox.h"
#include "trace/recorder.h"
#include "trace/tensor_store.h"
#include "train/dataset.h"
#include "train/trainer.h"

namespace aftune {
namespace {

namespace fs = std::filesystem;

double CpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// 64 examples of random printable text, 40-char prompts, 60-char completions.
std::string BenchJsonl() {
  Philox rng(11, RandomPurpose::kShuffle, 0);
  std::string out;
  uint64_t k = 0;
  auto text = [&](int n) {
    std::string s;
    for (int i = 0; i < n; ++i) s += static_cast<char>('a' + rng.Word(k++) % 26);
    return s;
  };
  for (int i = 0; i < 64; ++i) out += "{\"prompt\": \"" + text(40) + "\", \"completion\": \"" + text(60) + "\"}\n";
  return out;
}

struct Config {
  const char* name;
  bool record;
  int64_t checkpoint_interval, activation_interval;
};

struct Run {
  double wall = 0, cpu = 0;
  double last_end_step = 0;  // wall s of the last EndStep: the final state kept, durable
  uint64_t stored = 0;
  Hash final_state{};
};

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

std::string LoadAverage() {
  std::string s;
  if (FILE* f = std::fopen("/proc/loadavg", "r")) {
    char buf[128];
    if (std::fgets(buf, sizeof buf, f)) s = buf;
    std::fclose(f);
  }
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

struct Fixture {
  ModelConfig model;
  TensorMap base;
  Dataset data;
  TrainConfig cfg;
};

Run TrainOnce(const Fixture& f, const Config& c, const std::string& dir) {
  fs::remove_all(dir);
  fs::create_directories(dir);
  auto trainer = Trainer::Create(f.cfg, f.model, f.base, &f.data);
  if (!trainer.ok()) {
    std::fprintf(stderr, "record_bench: %s\n", trainer.status().ToString().c_str());
    std::exit(1);
  }
  Trainer& t = **trainer;
  TensorStore store(dir + "/store");
  std::unique_ptr<TraceRecorder> rec;
  const AuditGrid grid{8, f.cfg.layers_per_block, c.checkpoint_interval, c.activation_interval};
  const auto w0 = std::chrono::steady_clock::now();
  const double c0 = CpuSeconds();
  Run run;
  if (c.record) rec = TraceRecorder::Open(dir + "/trace.jsonl", Hash{}, grid, &store, t).value();
  while (t.next_step() < t.total_steps()) {
    StepReport r = t.RunStep(rec.get()).value();
    if (rec) {
      const auto e0 = std::chrono::steady_clock::now();
      Status st = rec->EndStep(r, t);
      run.last_end_step = std::chrono::duration<double>(std::chrono::steady_clock::now() - e0).count();
      if (!st.ok()) {
        std::fprintf(stderr, "record_bench: %s\n", st.ToString().c_str());
        std::exit(1);
      }
    }
  }
  run.cpu = CpuSeconds() - c0;
  run.wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count();
  run.stored = store.bytes_written();
  run.final_state = FinalStateDigest(t);
  return run;
}

void Bench(const char* method, Fixture& f, int reps, bool target_only, const std::string& dir) {
  std::vector<Config> configs = {{"no recording", false, 1, 1},
                                 {"I_C=8 I_A=8", true, 8, 8},
                                 {"I_C=8 I_A=1", true, 8, 1},
                                 {"I_C=1 I_A=8", true, 1, 8},
                                 {"I_C=1 I_A=1", true, 1, 1}};
  if (target_only) configs.resize(2);
  std::printf("\n%s, %lld steps, B_S=8 B_L=%lld; load average before: %s\n", method, (long long)f.cfg.max_steps,
              (long long)f.cfg.layers_per_block, LoadAverage().c_str());
  std::vector<std::vector<Run>> runs(configs.size());
  for (int rep = 0; rep < reps; ++rep)
    for (size_t i = 0; i < configs.size(); ++i) {
      runs[i].push_back(TrainOnce(f, configs[i], dir));
      std::printf("  round %d  %-14s wall %6.2f s  cpu %6.2f s\n", rep + 1, configs[i].name, runs[i].back().wall,
                  runs[i].back().cpu);
      std::fflush(stdout);
    }
  std::printf("load average after: %s\n", LoadAverage().c_str());
  auto median = [&](size_t i, double Run::*field) {
    std::vector<double> v;
    for (const Run& r : runs[i]) v.push_back(r.*field);
    return Median(v);
  };
  const double steps = static_cast<double>(f.cfg.max_steps);
  const double wall0 = median(0, &Run::wall), cpu0 = median(0, &Run::cpu);
  std::printf("%-14s %10s %10s %10s %10s %14s %12s   (medians of %d)\n", "", "wall s", "overhead", "cpu s",
              "overhead", "stored/step", "last step s", reps);
  for (size_t i = 0; i < configs.size(); ++i) {
    const double wall = median(i, &Run::wall), cpu = median(i, &Run::cpu), last = median(i, &Run::last_end_step);
    bool same = true;
    for (const Run& r : runs[i]) same = same && r.final_state == runs[0][0].final_state;
    std::printf("%-14s %10.2f %9.2f%% %10.2f %9.2f%% %11.2f MB %12.3f%s\n", configs[i].name, wall,
                100.0 * (wall / wall0 - 1.0), cpu, 100.0 * (cpu / cpu0 - 1.0),
                static_cast<double>(runs[i].back().stored) / steps / 1e6, last, same ? "" : "  FINAL STATE DIFFERS");
  }
}

}  // namespace
}  // namespace aftune

int main(int argc, char** argv) {
  using namespace aftune;
  const int64_t steps = argc > 1 ? std::atoll(argv[1]) : 64;
  const int reps = argc > 2 ? std::atoi(argv[2]) : 5;
  const bool target_only = argc > 3 && std::string(argv[3]) == "target";
  if (steps < 1 || reps < 1 || (argc > 3 && !target_only && std::string(argv[3]) != "all")) {
    std::fprintf(stderr, "usage: record_bench [steps >= 1] [reps >= 1] [all | target]\n");
    return 2;
  }
  const std::string dir = (fs::temp_directory_path() / ("aftune-record-bench-" + std::to_string(::getpid()))).string();
  Fixture f;
  f.model = PresetConfig("small").value();
  f.base = InitModel(f.model, 1);
  ByteTokenizer tok;
  f.data = ParseJsonlDataset(BenchJsonl(), "bench.jsonl", tok, {128, OverflowPolicy::kReject}).value();
  f.cfg.max_steps = steps;
  f.cfg.per_device_train_batch_size = 4;
  f.cfg.max_seq_length = 128;
  f.cfg.learning_rate = 1e-4;
  f.cfg.layers_per_block = 2;
  f.cfg.lora = {8, 16.0, {Proj::kQ, Proj::kV}};
  std::printf("record_bench: small preset, %lld steps of 4 examples (~100 tokens each), %d interleaved rounds\n",
              (long long)steps, reps);
  Bench("LoRA r=8 (q,v)", f, reps, target_only, dir);
  f.cfg.full_finetune = true;
  Bench("full fine-tuning", f, reps, target_only, dir);
  fs::remove_all(dir);
  return 0;
}
