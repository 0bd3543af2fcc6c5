#include "train/step_batch.h"

#include <algorithm>

#include "train/batch_sampler.h"

namespace aftune {

StepBatch MakeStepBatch(const TrainConfig& cfg, const Dataset& data, int64_t step) {
  StepBatch b;
  b.step = step;
  b.epoch = EpochOfStep(data.size(), cfg.examples_per_step(), step);
  b.indices = StepIndices(cfg.seed, data.size(), cfg.examples_per_step(), step);
  const size_t per = static_cast<size_t>(cfg.per_device_train_batch_size);
  for (size_t i = 0; i < b.indices.size(); i += per) {
    const size_t end = std::min(b.indices.size(), i + per);
    b.micro.push_back(MakeTrainingBatch(data, std::vector<int64_t>(b.indices.begin() + i, b.indices.begin() + end)));
    b.tokens += b.micro.back().num_tokens();
    b.scored_tokens += CountScoredTargets(b.micro.back());
  }
  b.loss_scale = b.scored_tokens ? 1.0f / static_cast<float>(b.scored_tokens) : 0.0f;
  return b;
}

}  // namespace aftune
