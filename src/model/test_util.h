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
