// Presets and deterministic random initialisation of a base model.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "model/config.h"
#include "model/llama_names.h"
#include "model/weight_writer.h"

namespace aftune {

// A named model shape. "tiny" (~130k parameters, for tests) and "small"
// (~12.9M, for demos and benchmarks) use the byte tokenizer's 259-token
// vocabulary; the others are the published shapes of real checkpoints
// (model_init.cc lists them and their sources).
Result<ModelConfig> PresetConfig(const std::string& name);
// Every preset's name, in the order `--help` lists them.
std::vector<std::string> PresetNames();

// The values of elements [first, first + count) of the base tensor `name`
// (row-major, `shape`) as transformers' LlamaPreTrainedModel initialises it
// (projections and embeddings ~ N(0, 0.02^2), norms = 1, biases = 0), drawn from Philox
// keyed by (seed, kWeightInit, TensorStream(name)): a pure function of the
// seed, the tensor's name and the element's index, however the range is cut.
void InitTensorValues(const std::string& name, const std::vector<int64_t>& shape, uint64_t seed, int64_t first,
                      int64_t count, float* out);

// Every base tensor of the model, InitTensorValues of the whole of each.
TensorMap InitModel(const ModelConfig& cfg, uint64_t seed);

// Writes the InitModel weights, stored as cfg.torch_dtype, and the config to
// `dir` tensor by tensor (WriteModelDir): memory stays a few chunks whatever
// the model's size. Values are drawn on the default thread pool (the same
// values for every thread count).
Status WriteInitModel(const std::string& dir, const ModelConfig& cfg, uint64_t seed,
                      uint64_t max_shard_bytes = kDefaultMaxShardBytes);

}  // namespace aftune
