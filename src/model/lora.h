// LoRA (Hu et al. 2021) as PEFT implements it for a Linear layer:
//   y = x W^T + scale * (x A^T) B^T,   scale = lora_alpha / r
// with A [r, in] and B [out, r]; the base weight W stays frozen.
#pragma once

#include <cstdint>
#include <vector>

#include "model/llama_names.h"

namespace aftune {

struct LoraConfig {
  int64_t r = 0;  // 0: no LoRA (full fine-tuning or plain inference)
  double lora_alpha = 0.0;
  std::vector<Proj> target_modules;

  bool enabled() const { return r > 0; }
  bool Targets(Proj p) const;
  float scale() const { return static_cast<float>(lora_alpha / static_cast<double>(r)); }
};

// Names and shapes of the adapter tensors for the span's layers, by PEFT name.
std::map<std::string, std::vector<int64_t>> LoraTensorShapes(const ModelConfig& cfg,
                                                              const LoraConfig& lora, LayerSpan span);

// PEFT's default initialisation, made deterministic: A ~ U(-1/sqrt(in),
// 1/sqrt(in)) (kaiming_uniform with a = sqrt(5)) drawn from Philox keyed by
// (seed, kLoraInit, a per-tensor stream), B = 0.
TensorMap InitLora(const ModelConfig& cfg, const LoraConfig& lora, LayerSpan span, uint64_t seed);

// The Philox stream of a named tensor: FNV-1a (32 bit) of its name, so a
// tensor's random values do not depend on which other tensors exist.
uint32_t TensorStream(const std::string& name);

}  // namespace aftune
