// A model directory in the Hugging Face layout: config.json + model.safetensors.
#pragma once

#include <string>

#include "base/status.h"
#include "model/config.h"
#include "model/llama_names.h"

namespace aftune {

struct LoadedModel {
  ModelConfig config;
  TensorMap params;  // f32, only the tensors of the requested span
};

// Reads DIR/config.json and the base tensors of `span` from
// DIR/model.safetensors (other tensors are not converted or kept). Errors name
// the file and the missing or mis-shaped tensor.
Result<LoadedModel> LoadModelDir(const std::string& dir, LayerSpan span);
// The whole model.
Result<LoadedModel> LoadModelDir(const std::string& dir);

// Writes DIR/config.json and DIR/model.safetensors (stored as
// config.torch_dtype: float32, bfloat16 or float16), each atomically.
Status SaveModelDir(const std::string& dir, const ModelConfig& config, const TensorMap& params);

}  // namespace aftune
