// A model ready to run inference: the base weights, an optional LoRA adapter,
// the tokenizer the model directory holds and a whole-model decoder over them.
#pragma once

#include <memory>
#include <string>

#include "base/status.h"
#include "model/chat_render.h"
#include "model/decoder.h"
#include "infer/sampler.h"
#include "model/generation_config.h"
#include "model/model_dir.h"
#include "model/tokenizer.h"

namespace aftune {

struct ServedModel {
  std::string model_dir, adapter_dir;  // adapter_dir empty: none
  ModelConfig config;
  LoraConfig lora;
  // The base weights as stored (bf16 stays bf16), mapped read-only.
  LoadedModel base;
  TensorMap adapter;
  std::unique_ptr<Tokenizer> tokenizer;
  // The model's own chat template (model/chat_render.h); null: the default
  // "llama2" layout (model/chat_template.h).
  std::shared_ptr<const ChatRenderer> chat;
  // The ids generation stops on: the tokenizer's EOS, config.json's
  // eos_token_id (one or a list) and generation_config.json's, each once.
  std::vector<int32_t> eos_ids;
  GenerationConfig generation;  // DIR/generation_config.json (empty when absent)
  SamplingParams default_sampling;  // DefaultSampling(generation), valid
  std::unique_ptr<Decoder> decoder;  // points into base and adapter: not copyable

  ServedModel() = default;
  ServedModel(const ServedModel&) = delete;
  ServedModel& operator=(const ServedModel&) = delete;
};

// Loads MODEL_DIR (config.json, model.safetensors, tokenizer, chat template) and, when
// adapter_dir is non-empty, the PEFT adapter there. Errors name the file.
Result<std::unique_ptr<ServedModel>> LoadServedModel(const std::string& model_dir, const std::string& adapter_dir);

}  // namespace aftune
