// LLaMA-family model configuration, read from and written to a Hugging Face
// config.json (transformers' LlamaConfig keys).
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"

namespace aftune {

struct ModelConfig {
  int64_t hidden_size = 0;              // C
  int64_t intermediate_size = 0;        // F
  int64_t num_hidden_layers = 0;        // L
  int64_t num_attention_heads = 0;      // H
  int64_t num_key_value_heads = 0;      // Hk (defaults to H when absent)
  int64_t head_dim = 0;                 // D (defaults to C / H when absent)
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  int64_t vocab_size = 0;               // V
  bool tie_word_embeddings = false;
  int64_t max_position_embeddings = 2048;
  int64_t bos_token_id = 1;
  int64_t eos_token_id = 2;
  std::string torch_dtype = "float32";  // storage dtype of the weights file

  int64_t q_dim() const { return num_attention_heads * head_dim; }   // H*D
  int64_t kv_dim() const { return num_key_value_heads * head_dim; }  // Hk*D
  // Number of parameters of the base model (embedding, layers, norm, head).
  int64_t NumParameters() const;
  // Checks ranges and divisibility (H % Hk == 0, every size > 0, ...).
  Status Validate() const;
};

// Parses config.json text. Unknown keys that would change the model
// (rope_scaling other than null, attention_bias / mlp_bias true, sliding_window,
// a hidden_act other than "silu", a model_type other than "llama" or
// "mistral"...) are an error naming the key; keys that do not affect the
// computation are ignored. `source` names the file in error messages.
Result<ModelConfig> ParseModelConfig(const std::string& json_text, const std::string& source);
Result<ModelConfig> ReadModelConfig(const std::string& path);
// A config.json that transformers' LlamaConfig loads as this model.
std::string ModelConfigToJson(const ModelConfig& config);

}  // namespace aftune
