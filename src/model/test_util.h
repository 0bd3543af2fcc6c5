// Helpers shared by the model room's tests (header-only, tests only).
#pragma once

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <unistd.h>
#include <string>
#include <vector>

#include "model/batch.h"
#include "model/config.h"
#include "model/decoder.h"
#include "model/lora.h"
#include "model/model_init.h"
#include "tensor/cross_entropy.h"
#include "tensor/philox.h"

namespace aftune::testing {

// A fresh empty directory under the system temp dir.
inline std::string TempDir(const std::string& tag) {
  std::string dir = (std::filesystem::temp_directory_path() /
                     ("aftune-" + tag + "-" + std::to_string(::getpid()))).string();
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// A config for tests: `C` wide, GQA when Hk < H, optional explicit head_dim.
inline ModelConfig TestConfig(int64_t C, int64_t H, int64_t Hk, int64_t D, int64_t layers, bool tied) {
  ModelConfig c;
  c.hidden_size = C;
  c.intermediate_size = 2 * C + 8;
  c.num_hidden_layers = layers;
  c.num_attention_heads = H;
  c.num_key_value_heads = Hk;
  c.head_dim = D;
  c.vocab_size = 61;
  c.tie_word_embeddings = tied;
  c.max_position_embeddings = 64;
  c.rms_norm_eps = 1e-5;
  c.rope_theta = 10000.0;
  c.bos_token_id = 1;
  c.eos_token_id = 2;
  return c;
}

// One test config per architecture feature (each small, 2 layers unless
// `layers` says otherwise): biases, q/k norms, a sliding window, RoPE scaling.
struct ArchCase {
  const char* name;
  ModelConfig cfg;
  const char* feature;  // what llama_ref.py's "ablate" leaves out to miss it
};
inline std::vector<ArchCase> ArchitectureCases(int64_t layers = 2) {
  std::vector<ArchCase> out;
  ModelConfig c = TestConfig(64, 4, 2, 16, layers, false);
  c.model_type = ModelType::kQwen2;  // q/k/v biases
  out.push_back({"qwen2", c, "biases"});
  c = TestConfig(64, 4, 2, 24, layers, true);  // head_dim 24 != 64 / 4
  c.model_type = ModelType::kQwen3;
  out.push_back({"qwen3", c, "qk_norm"});
  c.attention_bias = true;
  out.push_back({"qwen3_bias", c, "biases"});
  c = TestConfig(64, 4, 2, 16, layers, false);
  c.model_type = ModelType::kMistral;
  c.sliding_window = 4;
  out.push_back({"mistral_window4", c, "window"});
  c = TestConfig(64, 4, 2, 16, layers, false);
  c.attention_bias = true;
  c.mlp_bias = true;
  out.push_back({"llama_bias", c, "biases"});
  // D = 16: wavelengths 2 pi 10000^(i/8) = 6.3, 20, 63, 199, ... against
  // 64 / 4 = 16 and 64 / 1 = 64: high, medium and low frequencies all occur.
  c = TestConfig(64, 4, 2, 16, layers, false);
  c.rope_scaling = {RopeType::kLlama3, 4.0, 1.0, 4.0, 64};
  out.push_back({"llama3_rope", c, "rope_scaling"});
  c.rope_scaling = {RopeType::kLinear, 2.5, 0.0, 0.0, 0};
  out.push_back({"linear_rope", c, "rope_scaling"});
  return out;
}

// Biases drawn N(0, 0.05^2) and q/k norm weights 1 + N(0, 0.2^2), so that a
// test sees them (InitModel starts them at 0 and 1).
inline void RandomizeBiasesAndQkNorms(TensorMap& params, uint64_t seed) {
  for (auto& [name, t] : params) {
    const bool bias = name.ends_with(".bias");
    const bool qk = name.ends_with("q_norm.weight") || name.ends_with("k_norm.weight");
    if (!bias && !qk) continue;
    Philox rng(seed, RandomPurpose::kWeightInit, TensorStream(name) ^ 0xb1a5u);
    for (int64_t i = 0; i < t.numel(); ++i) {
      const float z = rng.Normal(static_cast<uint64_t>(i));
      t[i] = bias ? 0.05f * z : 1.0f + 0.2f * z;
    }
  }
}

// Random token sequences of the given lengths; every third target ignored.
inline std::vector<std::vector<int32_t>> RandomSequences(const std::vector<int>& lengths, int64_t V,
                                                         uint32_t stream) {
  Philox rng(7, RandomPurpose::kShuffle, stream);
  std::vector<std::vector<int32_t>> out;
  uint64_t i = 0;
  for (int len : lengths) {
    std::vector<int32_t> s;
    for (int t = 0; t < len; ++t) s.push_back(static_cast<int32_t>(rng.Word(i++) % V));
    out.push_back(s);
  }
  return out;
}

inline PackedBatch BatchWithIgnored(const std::vector<std::vector<int32_t>>& seqs) {
  PackedBatch b = MakeLmBatch(seqs);
  for (size_t n = 0; n < b.targets.size(); n += 3) b.targets[n] = kIgnoreIndex;
  return b;
}

// LoRA on every projection, with B drawn at random (PEFT starts B at zero,
// which would make every A gradient zero and the test blind).
inline TensorMap RandomLora(const ModelConfig& cfg, const LoraConfig& lora, uint64_t seed) {
  TensorMap t = InitLora(cfg, lora, WholeModel(cfg), seed);
  for (auto& [name, tensor] : t) {
    if (name.find(".lora_B.") == std::string::npos) continue;
    Philox rng(seed, RandomPurpose::kLoraInit, TensorStream(name) ^ 0x5555u);
    for (int64_t i = 0; i < tensor.numel(); ++i) tensor[i] = 0.05f * rng.Normal(static_cast<uint64_t>(i));
  }
  return t;
}

// Zeroed gradient tensors for the trainable names (base tensors for full
// fine-tuning, adapter tensors for LoRA).
inline TensorMap ZeroGrads(const TensorMap& params, bool lora) {
  TensorMap g;
  for (const auto& [name, t] : params)
    if ((name.find(".lora_") != std::string::npos) == lora) g.emplace(name, Tensor(t.shape()));
  return g;
}

inline double RelativeL2(const Tensor& a, const Tensor& ref) {
  double num = 0, den = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    double d = static_cast<double>(a[i]) - ref[i];
    num += d * d;
    den += static_cast<double>(ref[i]) * ref[i];
  }
  return den == 0 ? std::sqrt(num) : std::sqrt(num / den);
}

}  // namespace aftune::testing
