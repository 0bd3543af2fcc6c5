// A model directory in the Hugging Face layout: config.json and the weights,
// as DIR/model.safetensors or sharded with DIR/model.safetensors.index.json
// (weight_files.h, weight_writer.h).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "model/config.h"
#include "model/llama_names.h"
#include "model/weight_files.h"
#include "model/weight_writer.h"

namespace aftune {

// A model's base tensors resident in their stored dtype. Movable: the views
// stay valid (the mapping and `copies` do not move).
struct LoadedModel {
  ModelConfig config;
  // Only the tensors of the requested span, as stored: views into the mapped
  // files, read-only (a tensor's pages are read when first touched), or into
  // `copies` for a tensor whose bytes are not aligned to its element size.
  WeightMap params;
  std::unique_ptr<const WeightFiles> files;
  std::unique_ptr<TensorMap> copies;

  // Every tensor of `params` as an owned f32 tensor (full fine-tuning's
  // master weights; widening is exact).
  TensorMap ToF32() const;
};

// Reads DIR/config.json, checks every tensor of the weight files against the
// config (headers only) and views the base tensors of `span` (nothing is
// converted or copied; only the span's bytes are ever read). Errors name the
// file and the missing, mis-shaped or non-float tensor.
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
