// Peak resident memory of loading and running a model, from the kernel.
//
// Writes a synthetic model of a preset's shape (model init, bf16) into a
// directory (or reuses --dir when it already holds one), then measures, each
// in a fresh child process (so each peak is its own), the growth of VmHWM
// (/proc/self/status: peak resident set, mapped file pages included) over the
// child's start for:
//   headers   WeightFiles::Open: the index and every header, no tensor data
//   block     LoadModelDir of one middle block of 2 layers
//   whole     LoadModelDir of the whole model (views: nothing is read yet)
//   eval      whole model, one forward pass over --tokens tokens (no KV cache)
//   generate  whole model, a --tokens prompt then 16 decoded tokens (KV cache)
//   lora      LoRA (r 16, all projections) Trainer, one optimizer step over
//             one sequence of --tokens tokens
//   cell      what auditing one cell of the middle block re-executes: that
//             block alone loaded, a LoRA forward and backward of --tokens rows
// and then (speed, not a memory row) prefill and decode rates.
// Each row prints the peak, the budget the target allows
// (eval/generate: 1.15 x files + KV cache + 300 MiB; lora: 1.2 x files +
// activations + 300 MiB; block/cell: 3 GiB) and the ratio. Activations are
// counted from the decoder's saved tensors (ActivationBytes).
//
// Usage: load_rss_bench [--preset NAME] [--layers N] [--dir DIR] [--keep]
//                       [--tokens N] [--only a,b,...]
//   (default: llama-3.2-1b, 4 layers, 128 tokens, every workload, under /tmp;
//   the directory is removed at the end unless --keep)
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "infer/generator.h"
#include "model/decoder.h"
#include "model/kv_cache.h"
#include "model/lora.h"
#include "model/model_dir.h"
#include "model/model_init.h"
#include "model/weight_files.h"
#include "train/trainer.h"

namespace {

using namespace aftune;

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
constexpr uint64_t kMiB = 1 << 20;

std::vector<int32_t> Tokens(const ModelConfig& cfg, int64_t n) {
  std::vector<int32_t> t(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) t[i] = static_cast<int32_t>((i * 7919 + 13) % cfg.vocab_size);
  return t;
}

// The f32 bytes a kept forward and its backward hold for one sequence of T
// tokens over `layers` layers (LayerActivations and the residuals, the head's
// logits and their gradient, the backward's scratch), as decoder.cc allocates them.
uint64_t ActivationBytes(const ModelConfig& c, int64_t T, int64_t layers, int64_t lora_r, bool head) {
  const int64_t C = c.hidden_size, F = c.intermediate_size, qd = c.num_attention_heads * c.head_dim;
  const int64_t kvd = c.num_key_value_heads * c.head_dim;
  const int64_t per_row = 5 * C + 2 + 3 * qd + 2 * kvd + 3 * F + 7 * lora_r;  // incl. the residual
  const int64_t probs = c.num_attention_heads * T * (T + 1) / 2;
  int64_t floats = layers * (T * per_row + probs);
  floats += T * (3 * F + 2 * C + qd * 2 + kvd * 4);  // backward scratch
  if (head) floats += T * (2 * c.vocab_size + C + 2);
  return static_cast<uint64_t>(floats) * 4;
}

Status Eval(const std::string& dir, int64_t T) {
  AFTUNE_ASSIGN_OR_RETURN(LoadedModel m, LoadModelDir(dir));
  AFTUNE_ASSIGN_OR_RETURN(auto d, Decoder::Create(m.config, LoraConfig{}, WholeModel(m.config), &m.params, nullptr));
  std::vector<int32_t> seq = Tokens(m.config, T + 1);
  PackedBatch b = MakeLmBatch({seq});
  Activations acts;
  d->Forward(b, nullptr, false, &acts);
  std::fprintf(stderr, "  eval loss %.4f\n", acts.loss.loss);
  return Status::Ok();
}

Status Generate(const std::string& dir, int64_t T) {
  AFTUNE_ASSIGN_OR_RETURN(LoadedModel m, LoadModelDir(dir));
  AFTUNE_ASSIGN_OR_RETURN(auto d, Decoder::Create(m.config, LoraConfig{}, WholeModel(m.config), &m.params, nullptr));
  Generator gen(*d, {}, [](const std::vector<int32_t>&) { return std::string(); });
  GenerationRequest r;
  r.prompt = Tokens(m.config, T);
  r.sampling.temperature = 0;
  r.max_tokens = 16;
  const GenerationResult out = gen.Generate({r})[0];
  std::fprintf(stderr, "  generated %zu tokens\n", out.tokens.size());
  return Status::Ok();
}

// Not a memory row: prefill of --tokens tokens, then decode at batch 1 and
// 8 (16 tokens each), greedy, timed on the resident bf16 weights. Decode
// bytes/s counts the weight files read once per step.
Status Speed(const std::string& dir, int64_t T, uint64_t file_bytes) {
  AFTUNE_ASSIGN_OR_RETURN(LoadedModel m, LoadModelDir(dir));
  AFTUNE_ASSIGN_OR_RETURN(auto d, Decoder::Create(m.config, LoraConfig{}, WholeModel(m.config), &m.params, nullptr));
  using Clock = std::chrono::steady_clock;
  auto secs = [](Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); };
  for (int rep = 0; rep < 2; ++rep) {  // the first also pages the weights in
    KvCache cache(m.config, WholeModel(m.config), T);
    PackedBatch b;
    b.Add(Tokens(m.config, T), {});
    Activations acts;
    const auto t0 = Clock::now();
    d->ForwardCached(b, {&cache}, &acts, true);
    const double s = secs(t0);
    std::printf("speed    prefill %lld tokens: %.2f s, %.1f tokens/s%s\n", static_cast<long long>(T), s,
                static_cast<double>(T) / s, rep == 0 ? " (cold)" : "");
  }
  Generator gen(*d, {}, [](const std::vector<int32_t>&) { return std::string(); });
  for (int batch : {1, 8}) {
    std::vector<GenerationRequest> reqs(static_cast<size_t>(batch));
    for (int i = 0; i < batch; ++i) {
      reqs[i].prompt = Tokens(m.config, 4 + i);
      reqs[i].sampling.temperature = 0;
    }
    // Steps: one prefill of the short prompts, then 15 of one token each.
    for (auto& r : reqs) r.max_tokens = 1;
    const auto t1 = Clock::now();
    gen.Generate(reqs);
    const double prefill = secs(t1);
    for (auto& r : reqs) r.max_tokens = 16;
    const auto t2 = Clock::now();
    gen.Generate(reqs);
    const double per_step = (secs(t2) - prefill) / 15;
    std::printf("speed    decode batch %d: %.1f tokens/s, %.3f s/step, %.1f GB/s of weights\n", batch,
                batch / per_step, per_step, static_cast<double>(file_bytes) / per_step / 1e9);
  }
  return Status::Ok();
}

LoraConfig Lora() { return LoraConfig{16, 32.0, std::vector<Proj>(std::begin(kAllProjs), std::end(kAllProjs))}; }

Status LoraStep(const std::string& dir, int64_t T) {
  AFTUNE_ASSIGN_OR_RETURN(LoadedModel m, LoadModelDir(dir));
  Dataset ds;
  ds.source = "load_rss_bench";
  Example ex;
  ex.tokens = Tokens(m.config, T);
  ex.scored.assign(ex.tokens.size(), 1);
  ex.scored[0] = 0;
  ex.line = 1;
  ds.examples.push_back(ex);
  TrainConfig cfg;
  cfg.full_finetune = false;
  cfg.lora = Lora();
  cfg.max_steps = 1;
  cfg.per_device_train_batch_size = 1;
  cfg.max_seq_length = T;
  cfg.seed = 1;
  AFTUNE_ASSIGN_OR_RETURN(std::unique_ptr<Trainer> t, Trainer::Create(cfg, std::move(m), &ds));
  const auto t0 = std::chrono::steady_clock::now();
  AFTUNE_ASSIGN_OR_RETURN(StepReport r, t->RunStep());
  std::fprintf(stderr, "  lora step loss %.4f, %.1f s\n", r.loss,
               std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  return Status::Ok();
}

Status Cell(const std::string& dir, LayerSpan block, int64_t T) {
  AFTUNE_ASSIGN_OR_RETURN(LoadedModel m, LoadModelDir(dir, block));
  const LoraConfig lora = Lora();
  TensorMap adapter = InitLora(m.config, lora, block, 1);
  TensorMap grads;
  for (const auto& [name, t] : adapter) grads.emplace(name, Tensor(t.shape()));
  AFTUNE_ASSIGN_OR_RETURN(auto d, Decoder::Create(m.config, lora, block, &m.params, &adapter));
  const int64_t C = m.config.hidden_size;
  Tensor x({T, C}), dy({T, C});
  for (int64_t i = 0; i < x.numel(); ++i) {
    x[i] = static_cast<float>((i * 2654435761LL) % 1000) / 1000.0f - 0.5f;
    dy[i] = static_cast<float>((i * 40503LL) % 1000) / 1000.0f - 0.5f;
  }
  PackedBatch b = MakeLmBatch({Tokens(m.config, T + 1)});
  Activations acts;
  Tensor dx;
  d->Forward(b, &x, true, &acts);
  d->Backward(b, &dy, &acts, &grads, &dx);
  return Status::Ok();
}

}  // namespace

int main(int argc, char** argv) {
  std::string preset = "llama-3.2-1b", dir = "/tmp/aftune-load-rss-" + std::to_string(::getpid()), only;
  int64_t layers = 4, tokens = 128;
  bool keep = false;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    const bool has_value = i + 1 < argc;
    if (flag == "--keep") keep = true;
    else if (flag == "--preset" && has_value) preset = argv[++i];
    else if (flag == "--layers" && has_value) layers = std::atoll(argv[++i]);
    else if (flag == "--dir" && has_value) dir = argv[++i];
    else if (flag == "--tokens" && has_value) tokens = std::atoll(argv[++i]);
    else if (flag == "--only" && has_value) only = "," + std::string(argv[++i]) + ",";
    else {
      std::fprintf(stderr,
                   "usage: load_rss_bench [--preset NAME] [--layers N] [--dir DIR] [--keep] [--tokens N] "
                   "[--only a,b]\n");
      return 2;
    }
  }
  Result<ModelConfig> cfg = PresetConfig(preset);
  if (!cfg.ok() || layers < 3) {
    std::fprintf(stderr, "%s\n", cfg.ok() ? "--layers must be >= 3" : cfg.status().ToString().c_str());
    return 2;
  }
  cfg->num_hidden_layers = layers;
  const bool reuse = std::filesystem::exists(dir + "/config.json");
  // In a child too: this process must not start the thread pool before it
  // forks the workloads (a forked child has none of its threads).
  if (!reuse && (ChildPeak([&] { return WriteInitModel(dir, *cfg, 1); }), !std::filesystem::exists(dir + "/config.json")))
    return 1;
  const WeightFiles files = WeightFiles::Open(dir).value();
  uint64_t file_bytes = 0, block_bytes = 0;
  const LayerSpan block{layers / 2 - 1, layers / 2 + 1};
  for (const SafetensorsFile& f : files.files()) file_bytes += f.file_bytes().size();
  for (const auto& [name, shape] : BaseTensorShapes(*cfg, block)) block_bytes += files.Find(name).entry->bytes.size();
  const uint64_t kv_bytes = static_cast<uint64_t>(2 * layers * cfg->num_key_value_heads * cfg->head_dim) *
                            static_cast<uint64_t>(tokens + 16) * 4;
  const uint64_t lora_acts = ActivationBytes(*cfg, tokens, layers, Lora().r, true);
  const uint64_t cell_acts = ActivationBytes(*cfg, tokens, 2, Lora().r, false);

  std::printf("%s, %lld layers, bf16: %zu weight file(s), %.1f MiB%s; block [%lld, %lld): %.1f MiB stored; "
              "%lld tokens\n",
              preset.c_str(), static_cast<long long>(layers), files.files().size(), MiB(file_bytes),
              reuse ? " (reused)" : "", static_cast<long long>(block.begin), static_cast<long long>(block.end),
              MiB(block_bytes), static_cast<long long>(tokens));
  std::printf("KV cache %.1f MiB; activations (one sequence): LoRA step %.1f MiB, cell %.1f MiB\n", MiB(kv_bytes),
              MiB(lora_acts), MiB(cell_acts));
  std::printf("%-9s %12s %12s %8s\n", "workload", "peak MiB", "target MiB", "ratio");
  auto row = [&](const char* what, const std::function<Status()>& fn, uint64_t target) {
    if (!only.empty() && only.find("," + std::string(what) + ",") == std::string::npos) return;
    const uint64_t peak = ChildPeak(fn);
    std::printf("%-9s %12.1f %12.1f %8.2f\n", what, MiB(peak), MiB(target),
                target ? static_cast<double>(peak) / static_cast<double>(target) : 0.0);
    std::fflush(stdout);
  };
  const uint64_t infer_target = static_cast<uint64_t>(1.15 * static_cast<double>(file_bytes)) + 300 * kMiB;
  row("headers", [&] { return WeightFiles::Open(dir).status(); }, 300 * kMiB);
  row("block", [&] { return LoadModelDir(dir, block).status(); }, 3072 * kMiB);
  row("whole", [&] { return LoadModelDir(dir).status(); }, infer_target);
  row("eval", [&] { return Eval(dir, tokens); }, infer_target);
  row("generate", [&] { return Generate(dir, tokens); }, infer_target + kv_bytes);
  row("lora", [&] { return LoraStep(dir, tokens); },
      static_cast<uint64_t>(1.2 * static_cast<double>(file_bytes)) + lora_acts + 300 * kMiB);
  row("cell", [&] { return Cell(dir, block, tokens); }, 3072 * kMiB);
  if (only.empty() || only.find(",speed,") != std::string::npos) {
    if (Status st = Speed(dir, tokens, file_bytes); !st.ok()) std::fprintf(stderr, "%s\n", st.ToString().c_str());
  }
  if (!keep) std::filesystem::remove_all(dir);
  return 0;
}
