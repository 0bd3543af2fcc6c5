// Presets and deterministic random initialisation of a base model.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "model/config.h"
#include "model/llama_names.h"

namespace aftune {

// "tiny" (~130k parameters, for tests) and "small" (~12.9M, for demos and
// benchmarks). Both use the byte tokenizer's 259-token vocabulary.
Result<ModelConfig> PresetConfig(const std::string& name);

// Every base tensor of the model, as transformers' LlamaPreTrainedModel
// initialises it (projections and embeddings ~ N(0, 0.02^2), norms = 1,
// biases = 0), drawn from Philox keyed by (seed, kWeightInit,
// TensorStream(name)): a pure function of the config, the seed and the
// tensor's name.
TensorMap InitModel(const ModelConfig& cfg, uint64_t seed);

}  // namespace aftune
