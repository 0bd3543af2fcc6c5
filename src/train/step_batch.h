// The batch of one optimizer step, as every layer-block of the step sees it:
// a pure function of the configuration, the dataset and the step number, so
// the trainer and an auditor replaying one layer-block build the same one.
//
//   indices = StepIndices(seed, examples, batch * accumulation, step)
//   cut in order into micro-batches of per_device_train_batch_size examples
//   scored_tokens = scored targets of all micro-batches together
//   loss_scale = 1 / scored_tokens (f32; 0 when nothing is scored): each
//     micro-batch's backward runs on loss_scale * (sum of its token losses)
#pragma once

#include <cstdint>
#include <vector>

#include "model/batch.h"
#include "train/dataset.h"
#include "train/train_config.h"

namespace aftune {

struct StepBatch {
  int64_t step = 0;
  int64_t epoch = 0;
  std::vector<int64_t> indices;    // the examples of the step, in order
  std::vector<PackedBatch> micro;  // the micro-batches, in order
  int64_t tokens = 0;              // input tokens of all micro-batches
  int64_t scored_tokens = 0;
  float loss_scale = 0.0f;
};

// REQUIRES: CheckSamplerArgs(data.size(), cfg.examples_per_step()).ok(),
// step >= 0.
StepBatch MakeStepBatch(const TrainConfig& cfg, const Dataset& data, int64_t step);

}  // namespace aftune
