// A LoRA adapter directory in Hugging Face PEFT's layout:
// adapter_config.json + adapter_model.safetensors with PEFT's tensor names
// (base_model.model.model.layers.N.self_attn.q_proj.lora_A.weight, ...), so
// `PeftModel.from_pretrained(base, DIR)` loads what aftune trains.
#pragma once

#include <string>

#include "base/status.h"
#include "model/lora.h"

namespace aftune {

struct LoadedAdapter {
  LoraConfig lora;
  std::string base_model;  // base_model_name_or_path as recorded
  TensorMap tensors;       // f32, PEFT names
};

// Reads DIR/adapter_config.json and DIR/adapter_model.safetensors, checking
// every tensor against the model config. Settings that would change the
// computation and that aftune does not implement (bias other than "none",
// use_rslora, use_dora, fan_in_fan_out, rank_pattern, alpha_pattern,
// layers_to_transform, a regex target_modules) are an error naming the key.
Result<LoadedAdapter> LoadAdapterDir(const std::string& dir, const ModelConfig& cfg);

// Writes both files atomically; tensors stored as F32.
Status SaveAdapterDir(const std::string& dir, const LoraConfig& lora, const std::string& base_model,
                      const TensorMap& tensors);

}  // namespace aftune
