// aftune model init | info | step
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "base/file.h"
#include "cli/commands.h"
#include "commit/sha256.h"
#include "model/decoder.h"
#include "model/model_dir.h"
#include "model/model_init.h"
#include "model/tokenizer.h"
#include "model/weight_files.h"
#include "tensor/thread_pool.h"

namespace aftune::cli {

namespace {

struct InitArgs {
  std::string preset = "small", out, dtype;  // dtype empty: the preset's own
  uint64_t seed = 0, max_shard_bytes = kDefaultMaxShardBytes;
  int64_t layers = 0;                          // 0: the preset's own
};

Status RunInit(const InitArgs& a) {
  AFTUNE_ASSIGN_OR_RETURN(ModelConfig cfg, PresetConfig(a.preset));
  if (!a.dtype.empty()) cfg.torch_dtype = a.dtype;
  if (a.layers > 0) cfg.num_hidden_layers = a.layers;
  AFTUNE_RETURN_IF_ERROR(WriteInitModel(a.out, cfg, a.seed, a.max_shard_bytes));
  std::printf("wrote %s: preset %s, %lld layers, %s, seed %llu, %lld parameters\n", a.out.c_str(), a.preset.c_str(),
              static_cast<long long>(cfg.num_hidden_layers), cfg.torch_dtype.c_str(),
              static_cast<unsigned long long>(a.seed), static_cast<long long>(cfg.NumParameters()));
  return Status::Ok();
}

// Reads config.json and the weight files' headers only (the files are mapped
// and no tensor's bytes are touched).
Status RunInfo(const std::string& dir) {
  AFTUNE_ASSIGN_OR_RETURN(ModelConfig cfg, ReadModelConfig(dir + "/config.json"));
  AFTUNE_ASSIGN_OR_RETURN(WeightFiles files, WeightFiles::Open(dir));
  std::printf("model %s\n", dir.c_str());
  std::printf("  hidden_size %lld, intermediate_size %lld, layers %lld\n", (long long)cfg.hidden_size,
              (long long)cfg.intermediate_size, (long long)cfg.num_hidden_layers);
  std::printf("  heads %lld, kv heads %lld, head_dim %lld\n", (long long)cfg.num_attention_heads,
              (long long)cfg.num_key_value_heads, (long long)cfg.head_dim);
  std::printf("  vocab %lld, max positions %lld, tied embeddings %s\n", (long long)cfg.vocab_size,
              (long long)cfg.max_position_embeddings, cfg.tie_word_embeddings ? "yes" : "no");
  std::printf("  rms_norm_eps %g, rope_theta %g, storage %s\n", cfg.rms_norm_eps, cfg.rope_theta,
              cfg.torch_dtype.c_str());
  std::printf("  parameters %lld (%.2f M)\n", (long long)cfg.NumParameters(), cfg.NumParameters() / 1e6);
  uint64_t total = 0;
  for (const SafetensorsFile& f : files.files()) {
    const uint64_t bytes = f.file_bytes().size();
    total += bytes;
    std::printf("  %s: %zu tensors, %llu bytes (%.1f MiB)\n", f.source().c_str(), f.entries().size(),
                (unsigned long long)bytes, bytes / 1048576.0);
  }
  if (files.sharded())
    std::printf("  %zu shards, %llu bytes (%.1f MiB)\n", files.files().size(), (unsigned long long)total,
                total / 1048576.0);
  return Status::Ok();
}

struct StepArgs {
  std::string model, data;
  int64_t batch = 8, seq_len = 128, steps = 3, lora_r = 0;
  bool fingerprint = false;
};

// Cuts the text's bytes into `batch` sequences of BOS + seq_len bytes.
Result<PackedBatch> TextBatch(const std::string& path, int64_t batch, int64_t seq_len) {
  AFTUNE_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  std::vector<int32_t> ids = ByteTokenizer().Encode(text);
  if (static_cast<int64_t>(ids.size()) < seq_len)
    return Status::InvalidArgument(path + ": " + std::to_string(ids.size()) + " bytes, fewer than --seq-len " +
                                   std::to_string(seq_len));
  std::vector<std::vector<int32_t>> seqs;
  for (int64_t s = 0; s < batch; ++s) {
    std::vector<int32_t> seq{ByteTokenizer::kBos};
    int64_t start = (s * seq_len) % (static_cast<int64_t>(ids.size()) - seq_len + 1);
    seq.insert(seq.end(), ids.begin() + start, ids.begin() + start + seq_len);
    seqs.push_back(seq);
  }
  return MakeLmBatch(seqs);
}

Status RunStep(const StepArgs& a) {
  AFTUNE_ASSIGN_OR_RETURN(LoadedModel m, LoadModelDir(a.model));
  AFTUNE_ASSIGN_OR_RETURN(PackedBatch batch, TextBatch(a.data, a.batch, a.seq_len));
  if (a.seq_len > m.config.max_position_embeddings)
    return Status::InvalidArgument("--seq-len " + std::to_string(a.seq_len) + " exceeds the model's " +
                                   std::to_string(m.config.max_position_embeddings) + " positions");
  LoraConfig lora;
  TensorMap adapter;
  if (a.lora_r > 0) {
    lora.r = a.lora_r;
    lora.lora_alpha = 2.0 * static_cast<double>(a.lora_r);
    lora.target_modules.assign(std::begin(kAllProjs), std::end(kAllProjs));
    adapter = InitLora(m.config, lora, WholeModel(m.config), 0);
  }
  // The base as stored: the gradients are those of the widened weights.
  AFTUNE_ASSIGN_OR_RETURN(std::unique_ptr<Decoder> decoder,
                          Decoder::Create(m.config, lora, WholeModel(m.config), &m.params, &adapter));
  std::printf("forward + backward, %s, %lld sequences x %lld tokens, %d threads\n",
              lora.enabled() ? ("LoRA r=" + std::to_string(lora.r)).c_str() : "full fine-tuning",
              (long long)a.batch, (long long)a.seq_len, DefaultPool().num_threads());
  double best = 0;
  Activations acts;
  TensorMap grads;
  for (int64_t step = 0; step < a.steps; ++step) {
    grads.clear();
    if (lora.enabled()) {
      for (const auto& [name, t] : adapter) grads.emplace(name, Tensor(t.shape()));
    } else {
      for (const auto& [name, t] : m.params) grads.emplace(name, Tensor(t.shape));
    }
    auto t0 = std::chrono::steady_clock::now();
    decoder->Forward(batch, nullptr, true, &acts);
    decoder->Backward(batch, nullptr, &acts, &grads, nullptr);
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    double tps = static_cast<double>(batch.num_tokens()) / secs;
    best = std::max(best, tps);
    std::printf("step %lld: loss %.6f, %.3f s, %.0f tokens/s\n", (long long)step, acts.loss.loss, secs, tps);
  }
  std::printf("loss %.6f, best %.0f tokens/s\n", acts.loss.loss, best);
  if (a.fingerprint) {
    Sha256 h;
    auto bytes = [](const Tensor& t) {
      return std::string_view(reinterpret_cast<const char*>(t.data()), static_cast<size_t>(t.numel()) * 4);
    };
    h.Update(bytes(acts.logits));
    for (const auto& [name, g] : grads) {
      h.Update(name);
      h.Update(bytes(g));
    }
    std::printf("fingerprint %s\n", HashToHex(h.Finish()).c_str());
  }
  return Status::Ok();
}

}  // namespace

void RegisterModelCommands(CLI::App& app) {
  auto* model = app.add_subcommand("model", "create and inspect models");
  model->require_subcommand(1);

  auto init = std::make_shared<InitArgs>();
  auto* c = model->add_subcommand("init", "write a deterministic random model (Hugging Face layout)");
  std::string presets;
  for (const std::string& n : PresetNames()) presets += (presets.empty() ? "" : ", ") + n;
  c->add_option("--preset", init->preset, "model shape: " + presets)->capture_default_str();
  c->add_option("--layers", init->layers, "decoder layers (default: the preset's)")->check(CLI::Range(1, 65536));
  c->add_option("--seed", init->seed, "initialisation seed")->capture_default_str();
  c->add_option("--out", init->out, "output directory")->required();
  c->add_option("--dtype", init->dtype, "storage: float32, bfloat16 or float16 (default: the preset's)");
  c->add_option("--max-shard-bytes", init->max_shard_bytes, "tensor bytes per shard (transformers' 5GB default)")
      ->capture_default_str()->check(CLI::Range(uint64_t{1}, uint64_t{1} << 50));
  AddThreadsOption(c);
  c->callback([init] { Finish(RunInit(*init)); });

  auto dir = std::make_shared<std::string>();
  c = model->add_subcommand("info", "print a model's configuration, parameter count and files (reads headers only)");
  c->add_option("DIR", *dir, "model directory")->required();
  c->callback([dir] { Finish(RunInfo(*dir)); });

  auto step = std::make_shared<StepArgs>();
  c = model->add_subcommand("step", "run forward + backward passes on a text and report loss and tokens/s");
  c->add_option("--model", step->model, "model directory")->required();
  c->add_option("--data", step->data, "text file")->required();
  c->add_option("--batch", step->batch, "sequences per step")->capture_default_str()->check(CLI::Range(1, 4096));
  c->add_option("--seq-len", step->seq_len, "tokens per sequence")->capture_default_str()->check(CLI::Range(1, 1 << 20));
  c->add_option("--steps", step->steps, "passes to run")->capture_default_str()->check(CLI::Range(1, 1000));
  c->add_option("--lora-r", step->lora_r, "LoRA rank on every projection (0: full fine-tuning)")
      ->capture_default_str()->check(CLI::Range(0, 4096));
  c->add_flag("--fingerprint", step->fingerprint, "print SHA-256 of the logits and gradients");
  AddThreadsOption(c);
  c->callback([step] { Finish(RunStep(*step)); });
}

}  // namespace aftune::cli
