#include "train/step_update.h"

#include <cmath>
#include <string>

#include "train/grad_clip.h"

namespace aftune {

Result<float> ClipAndStep(const TrainConfig& cfg, const ScheduleConfig& schedule, float loss, float norm,
                          TensorMap* grads, AdamW* optimizer, TensorMap* params) {
  const int64_t step = optimizer->step();
  if (!std::isfinite(loss) || !std::isfinite(norm))
    return Status::InvalidArgument("step " + std::to_string(step) + ": loss " + std::to_string(loss) +
                                   ", gradient norm " + std::to_string(norm) +
                                   " is not finite; the learning rate may be too high");
  if (cfg.max_grad_norm > 0) ClipWithNorm(norm, cfg.max_grad_norm, grads);
  const float lr = LearningRate(schedule, step);
  optimizer->Step(lr, *grads, params);
  return lr;
}

}  // namespace aftune
