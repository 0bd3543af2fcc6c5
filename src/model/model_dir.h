// A model directory in the Hugging Face layout: config.json and the weights,
// as DIR/model.safetensors or sharded with DIR/model.safetensors.index.json
// (weight_files.h, weight_writer.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "model/config.h"
#include "model/llama_names.h"
#include "model/weight_writer.h"

namespace aftune {

struct LoadedModel {
  ModelConfig config;
  TensorMap params;  // f32, only the tensors of the requested span
};

// Reads DIR/config.json and the base tensors of `span` from the weight files
// (other tensors are not converted or kept; the files are mapped, so only the
// span's bytes are read). Errors name the file and the missing or mis-shaped
// tensor.
Result<LoadedModel> LoadModelDir(const std::string& dir, LayerSpan span);
// The whole model.
Result<LoadedModel> LoadModelDir(const std::string& dir);

// Writes DIR's weights from `tensors` (each stored as its own dtype), sharded
// at max_shard_bytes, then DIR/config.json, each file atomically (see
// weight_writer.h). Tensors are written in layer order, whatever the order
// given: the embedding, then layer 0, 1, ... (each layer's tensors by name),
// then the rest by name, so one layer-block's tensors share a shard or two.
Status WriteModelDir(const std::string& dir, const ModelConfig& config, std::vector<TensorSource> tensors,
                     uint64_t max_shard_bytes = kDefaultMaxShardBytes);

// WriteModelDir of `params`, stored as config.torch_dtype (float32, bfloat16
// or float16).
Status SaveModelDir(const std::string& dir, const ModelConfig& config, const TensorMap& params,
                    uint64_t max_shard_bytes = kDefaultMaxShardBytes);

// config.torch_dtype as a storage dtype. InvalidArgument naming it otherwise.
Result<DType> StorageDType(const ModelConfig& config);

}  // namespace aftune
