// LLaMA-family model configuration, read from and written to a Hugging Face
// config.json (the keys of transformers' LlamaConfig, MistralConfig,
// Qwen2Config and Qwen3Config). The accepted keys, their types and defaults
// are listed at the top of config.cc.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "tensor/rope.h"

namespace aftune {

// The architectures aftune computes, by transformers' model_type. They share
// the LLaMA decoder and differ in:
//   llama    attention_bias (q/k/v/o biases), mlp_bias (gate/up/down biases)
//   mistral  sliding_window (banded causal mask)
//   qwen2    q/k/v biases always
//   qwen3    attention_bias (q/k/v/o biases); per-head RMSNorm q_norm/k_norm
//            on q and k before RoPE
enum class ModelType { kLlama, kMistral, kQwen2, kQwen3 };
const char* ModelTypeName(ModelType t);  // "llama", "mistral", "qwen2", "qwen3"

struct ModelConfig {
  ModelType model_type = ModelType::kLlama;
  int64_t hidden_size = 0;              // C
  int64_t intermediate_size = 0;        // F
  int64_t num_hidden_layers = 0;        // L
  int64_t num_attention_heads = 0;      // H
  int64_t num_key_value_heads = 0;      // Hk (defaults to H when absent)
  int64_t head_dim = 0;                 // D (defaults to C / H when absent)
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;             // rope_scaling / rope_parameters
  bool attention_bias = false;          // llama, qwen3: q/k/v/o biases
  bool mlp_bias = false;                // llama: gate/up/down biases
  int64_t sliding_window = 0;           // mistral: a query attends to the last
                                        // W positions (itself included); 0: all
  int64_t vocab_size = 0;               // V
  bool tie_word_embeddings = false;
  int64_t max_position_embeddings = 2048;
  int64_t bos_token_id = 1;             // -1: none (null in config.json)
  int64_t eos_token_id = 2;             // -1: none (null in config.json)
  // Further end-of-sequence ids, when config.json gives eos_token_id as a list
  // [eos_token_id, extra...]. REQUIRES (Validate): empty when eos_token_id is -1.
  std::vector<int64_t> extra_eos_token_ids;
  std::string torch_dtype = "float32";  // storage dtype of the weights file:
                                        // "float32", "bfloat16" or "float16"

  int64_t q_dim() const { return num_attention_heads * head_dim; }   // H*D
  // Which projections carry a bias (the output width of each).
  bool qkv_bias() const { return attention_bias || model_type == ModelType::kQwen2; }
  bool o_bias() const { return attention_bias; }
  // Qwen3's per-head RMSNorm of q and k (weights [D]) before RoPE.
  bool qk_norm() const { return model_type == ModelType::kQwen3; }
  int64_t kv_dim() const { return num_key_value_heads * head_dim; }  // Hk*D
  // Whether `id` ends a sequence (eos_token_id or one of the extras).
  bool IsEosToken(int64_t id) const;
  // Number of parameters of the base model: embedding V*C; per layer q C*H*D,
  // k and v C*Hk*D each, o H*D*C, gate/up/down 3*C*F, two norms 2*C, the
  // biases the architecture has (each its projection's output width), q/k
  // norms 2*D (qwen3); final norm C; lm_head V*C unless tie_word_embeddings.
  // REQUIRES: Validate().ok() (which guarantees the count fits in int64).
  int64_t NumParameters() const;
  // Checks ranges and divisibility (H % Hk == 0, D even, every size > 0 and
  // below a sanity cap, token ids in [0, V) or -1, a known torch_dtype, a
  // parameter count that fits in int64, RoPE scaling parameters in range,
  // keys of another architecture at their defaults). Errors name the key.
  Status Validate() const;
};

// Parses config.json text. Keys that would change the model in a way aftune
// does not implement (a RoPE scaling other than linear or llama3, Qwen's
// use_sliding_window true, a hidden_act other than "silu", a model_type other
// than the four above, ...) are an error naming the key; keys that do not
// affect the computation are ignored. Absent keys take the defaults of the
// model_type's transformers config class. A known key of the wrong JSON type
// (an integer given as a string or as 4096.0, ...) is an error naming the key.
// The result passed Validate(). `source` names the file in error messages.
Result<ModelConfig> ParseModelConfig(const std::string& json_text, const std::string& source);
Result<ModelConfig> ReadModelConfig(const std::string& path);
// A config.json that transformers loads as this model (the model_type's
// config class and architectures, e.g. "qwen2" / ["Qwen2ForCausalLM"], every
// field explicit, keys sorted, 2-space indent, trailing newline).
// ParseModelConfig of the result gives back `config` exactly (doubles print
// round-trip).
std::string ModelConfigToJson(const ModelConfig& config);

}  // namespace aftune
