// aftune vs PyTorch on the same model, data and machine, in the same run
// (issue 3): training tokens/s (full fine-tuning and LoRA r=8 on all seven
// projections; 8 sequences x 128 tokens per optimizer step), greedy
// generation tokens/s with a KV cache (batch 1 and 8: a 16-token prompt, 128
// new tokens per sequence) and the prefill time of a 144-token prompt.
//
// The `small` preset (seed 1) is written to a temporary model directory that
// both sides load. aftune runs its Trainer (forward, backward, clip to 1.0,
// AdamW) and its Generator with 2 threads (the machine's cores) and 1 thread.
// PyTorch runs bench/torch_llama.py --serve under /usr/bin/python3, one
// process per thread setting, all started up front.
//
// The machine is shared, so the load changes from second to second. To expose
// every contender to the same load, repetitions are interleaved: for each
// workload, one warm-up and then `reps` rounds, each round timing one
// repetition of aftune (2 threads, then 1) and of every PyTorch setting.
// Figures are the best repetition. After each round, a PyTorch setting more
// than twice as slow as PyTorch's best on that workload is not repeated
// (except the single-thread setting, which the per-core table uses).
// Figures are wall-clock; a second table compares 1 thread against 1 thread
// in process CPU time, which other load disturbs less.
//
// Usage: train_bench [reps (default 4)] [path/to/torch_llama.py]
// The script defaults to torch_llama.py beside this source file.
#include <malloc.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/file.h"
#include "bench/openblas_kernel.h"
#include "infer/generator.h"
#include "model/model_dir.h"
#include "model/model_init.h"
#include "tensor/philox.h"
#include "tensor/thread_pool.h"
#include "train/trainer.h"

namespace aftune {
namespace {

constexpr int64_t kTrainSeqs = 8, kTrainLen = 128, kPromptLen = 16, kNewTokens = 128, kPrefillLen = 144;

enum Workload { kTrainFull, kTrainLora, kGenB1, kGenB8, kPrefill, kNumWorkloads };
constexpr const char* kWorkloadKey[] = {"train_full", "train_lora", "gen_b1", "gen_b8", "prefill_144"};
constexpr const char* kWorkloadName[] = {"train full (tok/s)", "train LoRA (tok/s)", "generate b=1 (tok/s)",
                                         "generate b=8 (tok/s)", "prefill 144 (ms)"};
constexpr double kTarget[] = {1.2, 1.2, 3.0, 1.5, 1.2};

// The workloads' token ids, drawn from Philox (bytes 0-255).
struct BenchData {
  std::vector<std::vector<int32_t>> train;    // kTrainSeqs x (kTrainLen + 1)
  std::vector<std::vector<int32_t>> prompts;  // 8 x kPromptLen (batch 1 uses the first)
  std::vector<int32_t> prefill;               // kPrefillLen
};

std::vector<int32_t> RandomTokens(uint32_t stream, int64_t n) {
  Philox rng(7, RandomPurpose::kShuffle, stream);
  std::vector<int32_t> out;
  for (int64_t i = 0; i < n; ++i) out.push_back(static_cast<int32_t>(rng.Word(static_cast<uint64_t>(i)) % 256));
  return out;
}

BenchData MakeData() {
  BenchData d;
  uint32_t stream = 0;
  for (int64_t s = 0; s < kTrainSeqs; ++s) d.train.push_back(RandomTokens(stream++, kTrainLen + 1));
  for (int s = 0; s < 8; ++s) d.prompts.push_back(RandomTokens(stream++, kPromptLen));
  d.prefill = RandomTokens(stream++, kPrefillLen);
  return d;
}

std::string DataJson(const BenchData& d, int reps) {
  nlohmann::json j;
  j["train"] = d.train;
  j["learning_rate"] = 1e-4;
  j["max_grad_norm"] = 1.0;
  j["lora_r"] = 8;
  j["lora_alpha"] = 16;
  j["gen_prompts"] = d.prompts;
  j["new_tokens"] = kNewTokens;
  j["prefill_prompt"] = d.prefill;
  j["train_steps"] = j["gen_reps"] = j["prefill_reps"] = reps;  // torch_llama.py's one-shot mode
  return j.dump();
}

// One timed repetition of a workload.
struct Sample {
  double wall = 0, cpu = 0;  // seconds
  double units = 0;          // tokens (1 for prefill)
  float loss = NAN;          // training
  std::vector<int32_t> tokens;  // batch-1 generation
};

double CpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

GenerationRequest Greedy(const std::vector<int32_t>& prompt, int64_t max_tokens) {
  GenerationRequest r;
  r.prompt = prompt;
  r.sampling.temperature = 0.0f;
  r.max_tokens = max_tokens;
  return r;
}

// aftune's side: two Trainers (full, LoRA) whose optimizer steps go on from
// call to call, and a Generator.
class AftuneWorkloads {
 public:
  AftuneWorkloads(const LoadedModel& model, const BenchData& data) : data_(data) {
    for (size_t i = 0; i < data.train.size(); ++i) {
      Example ex;
      ex.tokens = data.train[i];
      ex.scored.assign(ex.tokens.size(), 1);
      ex.scored[0] = 0;
      ex.line = static_cast<int64_t>(i) + 1;
      ds_.examples.push_back(std::move(ex));
    }
    ds_.source = "train_bench";
    for (bool full : {true, false}) {
      TrainConfig cfg;
      cfg.full_finetune = full;
      cfg.lora = LoraConfig{8, 16.0, std::vector<Proj>(std::begin(kAllProjs), std::end(kAllProjs))};
      cfg.learning_rate = 1e-4;
      cfg.weight_decay = 0.0;
      cfg.max_grad_norm = 1.0;
      cfg.lr_scheduler_type = LrSchedule::kConstant;
      cfg.max_steps = 100000;
      cfg.per_device_train_batch_size = kTrainSeqs;  // the dataset: every step is all of it
      cfg.max_seq_length = kTrainLen + 1;
      cfg.seed = 1;
      trainers_.push_back(Trainer::Create(cfg, model.config, model.ToF32(), &ds_).value());
    }
    // The weights as stored, as aftune generate and serve read them.
    decoder_ = Decoder::Create(model.config, LoraConfig{}, WholeModel(model.config), &model.params, nullptr).value();
    // No EOS (-1): every sequence runs to max_tokens, as in torch_llama.py.
    gen_ = std::make_unique<Generator>(*decoder_, std::vector<int32_t>{}, [](const std::vector<int32_t>&) { return std::string(); });
  }

  Sample Run(Workload w, int threads) {
    SetDefaultThreads(threads);
    std::vector<GenerationRequest> reqs;
    if (w == kGenB1 || w == kGenB8)
      for (int s = 0; s < (w == kGenB1 ? 1 : 8); ++s) reqs.push_back(Greedy(data_.prompts[s], kNewTokens));
    if (w == kPrefill) reqs.push_back(Greedy(data_.prefill, 1));
    Sample out;
    const double c0 = CpuSeconds();
    const auto t0 = std::chrono::steady_clock::now();
    if (w == kTrainFull || w == kTrainLora) {
      Result<StepReport> r = trainers_[w == kTrainFull ? 0 : 1]->RunStep();
      AFTUNE_CHECK(r.ok());
      out.loss = r.value().loss;
      out.units = static_cast<double>(r.value().tokens);
    } else {
      std::vector<GenerationResult> res = gen_->Generate(reqs);
      for (const auto& r : res) out.units += static_cast<double>(r.tokens.size());
      if (w == kGenB1) out.tokens = res[0].tokens;
      if (w == kPrefill) out.units = 1;
    }
    out.wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    out.cpu = CpuSeconds() - c0;
    return out;
  }

 private:
  const BenchData& data_;
  Dataset ds_;
  std::vector<std::unique_ptr<Trainer>> trainers_;
  std::unique_ptr<Decoder> decoder_;
  std::unique_ptr<Generator> gen_;
};

// A PyTorch thread setting: an environment assignment and
// torch.set_num_threads. Debian's torch 1.13 defaults to one intra-op thread;
// OpenBLAS (pthreads) takes OPENBLAS_NUM_THREADS, else OMP_NUM_THREADS, else
// the core count.
struct TorchSetting {
  const char* label;
  const char* env;      // "VAR=value" or ""
  int set_num_threads;  // 0: torch's default
};
constexpr TorchSetting kTorchSettings[] = {
    {"default: intra-op 1, OpenBLAS 2", "", 0},
    {"OMP_NUM_THREADS=1: intra-op 1, OpenBLAS 1", "OMP_NUM_THREADS=1", 0},
    {"set_num_threads(2), OPENBLAS_NUM_THREADS=1", "OPENBLAS_NUM_THREADS=1", 2},
    {"OMP_NUM_THREADS=2: intra-op 2, OpenBLAS 2", "OMP_NUM_THREADS=2", 0},
};
constexpr int kNumTorch = static_cast<int>(std::size(kTorchSettings));
constexpr int kTorchSingleThread = 1;  // compared per core with aftune at 1 thread

// One `torch_llama.py --serve` process: a workload name per line in, one JSON
// line per repetition out.
class TorchProcess {
 public:
  static Result<std::unique_ptr<TorchProcess>> Start(const std::string& script, const std::string& model_dir,
                                                     const std::string& data_path, const TorchSetting& s,
                                                     const bench::OpenBlasKernel& blas) {
    int to_child[2], from_child[2];
    if (pipe(to_child) != 0 || pipe(from_child) != 0) return Status::IOError("pipe failed");
    std::vector<std::string> args = {"/usr/bin/env", "-u", "OMP_NUM_THREADS", "-u", "OPENBLAS_NUM_THREADS",
                                     "-u", "GOTO_NUM_THREADS"};
    // PyTorch's OpenBLAS at its best, in its own command only.
    for (const std::string& a : bench::OpenBlasEnvArgs(blas)) args.push_back(a);
    if (*s.env) args.push_back(s.env);
    for (const std::string& a : {std::string("/usr/bin/python3"), script, model_dir, data_path, std::string("--serve")})
      args.push_back(a);
    if (s.set_num_threads > 0) args.insert(args.end(), {"--threads", std::to_string(s.set_num_threads)});
    std::fflush(nullptr);
    const pid_t pid = fork();
    if (pid < 0) return Status::IOError("fork failed");
    if (pid == 0) {
      dup2(to_child[0], 0);
      dup2(from_child[1], 1);
      for (int fd : {to_child[0], to_child[1], from_child[0], from_child[1]}) close(fd);
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(to_child[0]);
    close(from_child[1]);
    std::unique_ptr<TorchProcess> p(new TorchProcess());
    p->pid_ = pid;
    p->in_ = fdopen(to_child[1], "w");
    p->out_ = fdopen(from_child[0], "r");
    AFTUNE_ASSIGN_OR_RETURN(p->describe_, p->ReadJson());
    return p;
  }

  ~TorchProcess() {
    std::fputs("quit\n", in_);
    std::fclose(in_);
    std::fclose(out_);
    waitpid(pid_, nullptr, 0);
  }

  const nlohmann::json& describe() const { return describe_; }

  Result<Sample> Run(Workload w) {
    std::fprintf(in_, "%s\n", kWorkloadKey[w]);
    std::fflush(in_);
    AFTUNE_ASSIGN_OR_RETURN(nlohmann::json j, ReadJson());
    Sample s;
    s.wall = j.at("wall").get<double>();
    s.cpu = j.at("cpu").get<double>();
    s.units = j.at("units").get<double>();
    if (j.contains("loss")) s.loss = j["loss"].get<float>();
    if (j.contains("tokens")) s.tokens = j["tokens"].get<std::vector<int32_t>>();
    return s;
  }

 private:
  TorchProcess() = default;
  Result<nlohmann::json> ReadJson() {
    char* line = nullptr;
    size_t cap = 0;
    const ssize_t n = getline(&line, &cap, out_);
    std::string text = n > 0 ? std::string(line, static_cast<size_t>(n)) : std::string();
    std::free(line);
    nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object())
      return Status::Corruption("torch_llama.py did not answer with a JSON line (got '" + text + "')");
    return j;
  }

  pid_t pid_ = -1;
  FILE* in_ = nullptr;
  FILE* out_ = nullptr;
  nlohmann::json describe_;
};

// The contenders: aftune with 2 and 1 threads, then the PyTorch settings.
constexpr int kAftune2 = 0, kAftune1 = 1, kFirstTorch = 2, kContenders = kFirstTorch + kNumTorch;

// Best seconds per unit over the timed repetitions of one contender.
struct Best {
  double wall = INFINITY, cpu = INFINITY;
  int reps = 0;
  void Add(const Sample& s) {
    wall = std::min(wall, s.wall / s.units);
    cpu = std::min(cpu, s.cpu / s.units);
    ++reps;
  }
};

// tokens/s, or ms for prefill.
double Figure(int w, double seconds_per_unit) {
  return w == kPrefill ? 1e3 * seconds_per_unit : 1.0 / seconds_per_unit;
}
std::string Fmt(int w, double seconds_per_unit) {
  if (!std::isfinite(seconds_per_unit)) return "-";
  char b[32];
  std::snprintf(b, sizeof b, w == kPrefill ? "%.1f" : "%.0f", Figure(w, seconds_per_unit));
  return b;
}

int BestTorch(const Best* by_contender) {
  int best = kFirstTorch;
  for (int c = kFirstTorch + 1; c < kContenders; ++c)
    if (by_contender[c].wall < by_contender[best].wall) best = c;
  return best;
}

std::string LoadAverage() {
  Result<std::string> s = ReadFile("/proc/loadavg");
  if (!s.ok()) return "?";
  std::string t = s.value();
  while (!t.empty() && t.back() == '\n') t.pop_back();
  return t;
}

std::string Dashes(int n) { return std::string(static_cast<size_t>(n), '-'); }

}  // namespace
}  // namespace aftune

int main(int argc, char** argv) {
  using namespace aftune;
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  signal(SIGPIPE, SIG_IGN);
  const int reps = argc > 1 ? std::max(1, std::atoi(argv[1])) : 4;
  const std::string script =
      argc > 2 ? argv[2] : (std::filesystem::path(__FILE__).parent_path() / "torch_llama.py").string();
  if (!std::filesystem::exists(script)) {
    std::fprintf(stderr, "train_bench: %s not found (pass its path as the second argument)\n", script.c_str());
    return 1;
  }
  char tmpl[] = "/tmp/train_bench.XXXXXX";
  if (!mkdtemp(tmpl)) {
    std::perror("mkdtemp");
    return 1;
  }
  const std::string dir = tmpl, model_dir = dir + "/model", data_path = dir + "/data.json";
  auto fail = [&](const Status& s) {
    std::fprintf(stderr, "train_bench: %s\n", s.ToString().c_str());
    std::filesystem::remove_all(dir);
    return 1;
  };

  const ModelConfig cfg = PresetConfig("small").value();
  if (Status s = SaveModelDir(model_dir, cfg, InitModel(cfg, 1)); !s.ok()) return fail(s);
  const LoadedModel model = LoadModelDir(model_dir).value();  // what PyTorch loads too
  const BenchData data = MakeData();
  if (Status s = WriteFileAtomic(data_path, DataJson(data, reps)); !s.ok()) return fail(s);
  const auto start = std::chrono::steady_clock::now();
  std::printf("small preset (%.1f M parameters); %d timed repetitions after a warm-up, interleaved; "
              "load average at start: %s\n",
              static_cast<double>(cfg.NumParameters()) / 1e6, reps, LoadAverage().c_str());
  std::fflush(stdout);

  AftuneWorkloads aftune(model, data);
  const bench::OpenBlasKernel blas = bench::BestOpenBlasKernel();
  std::vector<std::unique_ptr<TorchProcess>> torch;
  for (const TorchSetting& s : kTorchSettings) {
    Result<std::unique_ptr<TorchProcess>> p = TorchProcess::Start(script, model_dir, data_path, s, blas);
    if (!p.ok()) return fail(p.status());
    torch.push_back(std::move(p).value());
  }
  std::printf("PyTorch %s (OpenBLAS kernel %s), settings:", torch[0]->describe().value("torch", "?").c_str(),
              torch[0]->describe().value("openblas_kernel", "?").c_str());
  for (int s = 0; s < kNumTorch; ++s)
    std::printf(" [%s: intra-op %d]", kTorchSettings[s].label,
                torch[static_cast<size_t>(s)]->describe().value("intra_op_threads", 0));
  std::printf("\n");

  Best best[kContenders][kNumWorkloads];
  float loss0[2] = {NAN, NAN};     // first full fine-tuning step: aftune, PyTorch (default setting)
  std::vector<int32_t> greedy[2];  // batch-1 tokens: aftune, PyTorch (default setting)
  for (int w = 0; w < kNumWorkloads; ++w) {
    bool active[kContenders];
    std::fill(std::begin(active), std::end(active), true);
    for (int r = 0; r <= reps; ++r) {  // r = 0 warms up
      for (int c = 0; c < kContenders; ++c) {
        if (!active[c]) continue;
        Sample s;
        if (c < kFirstTorch) {
          s = aftune.Run(static_cast<Workload>(w), c == kAftune2 ? 2 : 1);
        } else {
          Result<Sample> t = torch[static_cast<size_t>(c - kFirstTorch)]->Run(static_cast<Workload>(w));
          if (!t.ok()) return fail(t.status());
          s = std::move(t).value();
        }
        if (w == kTrainFull && r == 0 && (c == kAftune2 || c == kFirstTorch)) loss0[c == kAftune2 ? 0 : 1] = s.loss;
        if (w == kGenB1 && r == 0 && (c == kAftune2 || c == kFirstTorch)) greedy[c == kAftune2 ? 0 : 1] = s.tokens;
        if (r > 0) best[c][w].Add(s);
      }
      if (r >= 1) {  // drop PyTorch settings over twice as slow as PyTorch's best
        double top = INFINITY;
        for (int c = kFirstTorch; c < kContenders; ++c) top = std::min(top, best[c][w].wall);
        for (int c = kFirstTorch; c < kContenders; ++c)
          if (best[c][w].wall > 2 * top && c != kFirstTorch + kTorchSingleThread) active[c] = false;
      }
    }
    std::printf("%s: done\n", kWorkloadName[w]);
    std::fflush(stdout);
  }
  torch.clear();
  const double minutes = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / 60;

  std::printf("\nPyTorch, every thread setting (wall clock, best repetition; reps in brackets):\n");
  std::printf("| %-44s |", "setting");
  for (int w = 0; w < kNumWorkloads; ++w) std::printf(" %20s |", kWorkloadName[w]);
  std::printf("\n|%s|", Dashes(46).c_str());
  for (int w = 0; w < kNumWorkloads; ++w) std::printf("%s|", Dashes(22).c_str());
  std::printf("\n");
  for (int c = kFirstTorch; c < kContenders; ++c) {
    std::printf("| %-44s |", kTorchSettings[c - kFirstTorch].label);
    for (int w = 0; w < kNumWorkloads; ++w) {
      const std::string cell = Fmt(w, best[c][w].wall) + " (" + std::to_string(best[c][w].reps) + ")";
      std::printf(" %20s |", cell.c_str());
    }
    std::printf("\n");
  }

  std::printf("\naftune vs PyTorch's best setting per workload (wall clock; ratio = aftune's speed-up):\n");
  std::printf("| %-20s | %9s | %9s | %9s | %-44s | %6s | %6s | %-4s |\n", "workload", "aftune 2t", "aftune 1t",
              "PyTorch", "PyTorch's best setting", "ratio", "target", "met");
  std::printf("|%s|%s|%s|%s|%s|%s|%s|%s|\n", Dashes(22).c_str(), Dashes(11).c_str(), Dashes(11).c_str(),
              Dashes(11).c_str(), Dashes(46).c_str(), Dashes(8).c_str(), Dashes(8).c_str(), Dashes(6).c_str());
  for (int w = 0; w < kNumWorkloads; ++w) {
    Best by[kContenders];
    for (int c = 0; c < kContenders; ++c) by[c] = best[c][w];
    const int bt = BestTorch(by);
    const double a = std::min(by[kAftune2].wall, by[kAftune1].wall);
    const double ratio = by[bt].wall / a;
    std::printf("| %-20s | %9s | %9s | %9s | %-44s | %5.2fx | %5.1fx | %-4s |\n", kWorkloadName[w],
                Fmt(w, by[kAftune2].wall).c_str(), Fmt(w, by[kAftune1].wall).c_str(), Fmt(w, by[bt].wall).c_str(),
                kTorchSettings[bt - kFirstTorch].label, ratio, kTarget[w], ratio >= kTarget[w] ? "yes" : "NO");
  }
  std::printf("(ratio: aftune's better thread count against PyTorch's best setting)\n");

  const int one = kFirstTorch + kTorchSingleThread;
  std::printf("\nPer core, from process CPU time: aftune 1 thread vs PyTorch %s\n",
              kTorchSettings[kTorchSingleThread].label);
  std::printf("| %-20s | %9s | %9s | %6s |\n", "workload", "aftune", "PyTorch", "ratio");
  std::printf("|%s|%s|%s|%s|\n", Dashes(22).c_str(), Dashes(11).c_str(), Dashes(11).c_str(), Dashes(8).c_str());
  for (int w = 0; w < kNumWorkloads; ++w) {
    const double a = best[kAftune1][w].cpu, t = best[one][w].cpu;
    std::printf("| %-20s | %9s | %9s | %5.2fx |\n", kWorkloadName[w], Fmt(w, a).c_str(), Fmt(w, t).c_str(), t / a);
  }

  // Both sides compute the same model on the same data.
  size_t same = 0;
  while (same < greedy[0].size() && same < greedy[1].size() && greedy[0][same] == greedy[1][same]) ++same;
  std::printf("\nsame model: first full fine-tuning loss aftune %.6f, PyTorch %.6f; greedy batch-1 tokens "
              "agree for the first %zu of %zu\n",
              static_cast<double>(loss0[0]), static_cast<double>(loss0[1]), same, greedy[0].size());
  std::printf("load average at end: %s; %.1f minutes\n", LoadAverage().c_str(), minutes);
  std::filesystem::remove_all(dir);
  return 0;
}
