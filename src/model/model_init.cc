#include "model/model_init.h"

#include "model/lora.h"
#include "model/model_dir.h"
#include "tensor/philox.h"
#include "tensor/thread_pool.h"

namespace aftune {

namespace {

// A preset's config.json values, as data. The real shapes and architecture
// keys are copied from the published config.json of the named Hugging Face
// repository (Llama 3.x's llama3 RoPE scaling: low_freq_factor 1,
// high_freq_factor 4, original context 8192).
struct Preset {
  const char* name;
  const char* source;  // where the shape comes from
  ModelType type;
  int64_t hidden, intermediate, layers, heads, kv_heads, head_dim, vocab, max_positions;
  double rope_theta, rms_norm_eps;
  bool tied;
  int64_t bos, eos;
  const char* torch_dtype;
  double llama3_rope_factor = 0.0;  // > 0: llama3 RoPE scaling with this factor
  int64_t sliding_window = 0;       // mistral
};

using enum ModelType;
constexpr Preset kPresets[] = {
    {"tiny", "aftune (tests)", kLlama, 64, 176, 2, 4, 2, 16, 259, 256, 10000.0, 1e-5, false, 256, 257, "float32"},
    {"small", "aftune (demos)", kLlama, 384, 1024, 8, 6, 2, 64, 259, 512, 10000.0, 1e-5, false, 256, 257, "float32"},
    {"smollm2-135m", "HuggingFaceTB/SmolLM2-135M", kLlama, 576, 1536, 30, 9, 3, 64, 49152, 8192, 100000.0, 1e-5,
     true, 0, 0, "bfloat16"},
    {"qwen2.5-0.5b", "Qwen/Qwen2.5-0.5B", kQwen2, 896, 4864, 24, 14, 2, 64, 151936, 32768, 1000000.0, 1e-6, true,
     151643, 151643, "bfloat16"},
    {"qwen3-0.6b", "Qwen/Qwen3-0.6B", kQwen3, 1024, 3072, 28, 16, 8, 128, 151936, 40960, 1000000.0, 1e-6, true,
     151643, 151645, "bfloat16"},
    {"tinyllama-1.1b", "TinyLlama/TinyLlama-1.1B-intermediate-step-1431k-3T", kLlama, 2048, 5632, 22, 32, 4, 64,
     32000, 2048, 10000.0, 1e-5, false, 1, 2, "bfloat16"},
    {"llama-3.2-1b", "meta-llama/Llama-3.2-1B", kLlama, 2048, 8192, 16, 32, 8, 64, 128256, 131072, 500000.0, 1e-5,
     true, 128000, 128001, "bfloat16", 32.0},
    {"mistral-7b", "mistralai/Mistral-7B-v0.1", kMistral, 4096, 14336, 32, 32, 8, 128, 32000, 32768, 10000.0, 1e-5,
     false, 1, 2, "bfloat16", 0.0, 4096},
    {"llama-3.1-8b", "meta-llama/Llama-3.1-8B", kLlama, 4096, 14336, 32, 32, 8, 128, 128256, 131072, 500000.0, 1e-5,
     false, 128000, 128001, "bfloat16", 8.0},
};

ModelConfig ConfigOf(const Preset& p) {
  ModelConfig c;
  c.model_type = p.type;
  c.hidden_size = p.hidden;
  c.intermediate_size = p.intermediate;
  c.num_hidden_layers = p.layers;
  c.num_attention_heads = p.heads;
  c.num_key_value_heads = p.kv_heads;
  c.head_dim = p.head_dim;
  c.vocab_size = p.vocab;
  c.max_position_embeddings = p.max_positions;
  c.rope_theta = p.rope_theta;
  c.rms_norm_eps = p.rms_norm_eps;
  c.tie_word_embeddings = p.tied;
  c.bos_token_id = p.bos;
  c.eos_token_id = p.eos;
  c.torch_dtype = p.torch_dtype;
  if (p.llama3_rope_factor > 0) c.rope_scaling = {RopeType::kLlama3, p.llama3_rope_factor, 1.0, 4.0, 8192};
  c.sliding_window = p.sliding_window;
  return c;
}

}  // namespace

Result<ModelConfig> PresetConfig(const std::string& name) {
  for (const Preset& p : kPresets)
    if (name == p.name) return ConfigOf(p);
  std::string known;
  for (const std::string& n : PresetNames()) known += (known.empty() ? "" : ", ") + n;
  return Status::InvalidArgument("unknown preset '" + name + "' (known: " + known + ")");
}

std::vector<std::string> PresetNames() {
  std::vector<std::string> names;
  for (const Preset& p : kPresets) names.push_back(p.name);
  return names;
}

void InitTensorValues(const std::string& name, const std::vector<int64_t>& shape, uint64_t seed, int64_t first,
                      int64_t count, float* out) {
  if (shape.size() == 1) {
    // Norm weights start at 1, biases at 0 (as transformers initialises them).
    std::fill_n(out, count, name.ends_with(".bias") ? 0.0f : 1.0f);
    return;
  }
  const Philox rng(seed, RandomPurpose::kWeightInit, TensorStream(name));
  for (int64_t i = 0; i < count; ++i) out[i] = 0.02f * rng.Normal(static_cast<uint64_t>(first + i));
}

TensorMap InitModel(const ModelConfig& cfg, uint64_t seed) {
  TensorMap out;
  for (const auto& [name, shape] : BaseTensorShapes(cfg, WholeModel(cfg))) {
    Tensor t(shape);
    InitTensorValues(name, shape, seed, 0, t.numel(), t.data());
    out.emplace(name, std::move(t));
  }
  return out;
}

Status WriteInitModel(const std::string& dir, const ModelConfig& cfg, uint64_t seed, uint64_t max_shard_bytes) {
  AFTUNE_RETURN_IF_ERROR(cfg.Validate());
  AFTUNE_ASSIGN_OR_RETURN(DType storage, StorageDType(cfg));
  std::vector<TensorSource> sources;
  for (const auto& [name, shape] : BaseTensorShapes(cfg, WholeModel(cfg))) {
    // Copies named for the capture (clang 14 cannot capture structured bindings).
    sources.push_back({name, storage, shape, [name = name, shape = shape, seed](int64_t first, int64_t count,
                                                                                 float* out) {
                         DefaultPool().ParallelFor(count, 1 << 14, [&](int64_t begin, int64_t end) {
                           InitTensorValues(name, shape, seed, first + begin, end - begin, out + begin);
                         });
                       }});
  }
  return WriteModelDir(dir, cfg, std::move(sources), max_shard_bytes);
}

}  // namespace aftune
