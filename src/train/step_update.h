// The update half of an optimizer step, over all trainable tensors (the
// trainer) or one layer-block's (an auditor re-executing a cell): once the
// global gradient norm of the step is known,
//   clip the gradients by it (train/grad_clip.h; when max_grad_norm > 0)
//   lr = LearningRate(schedule, step)
//   AdamW step of the parameters with lr (train/adamw.h)
// Every element is updated independently, so updating a subset of the
// tensors gives those tensors the same bits as updating all of them.
#pragma once

#include "base/status.h"
#include "train/adamw.h"
#include "train/schedule.h"
#include "train/train_config.h"

namespace aftune {

// Applies the update of optimizer step optimizer->step() and returns its
// learning rate. kInvalidArgument naming the step (and nothing updated) when
// `loss` or `norm` is not finite (pass loss 0 when it is not known).
// REQUIRES: grads and *params hold exactly the optimizer's tensors.
Result<float> ClipAndStep(const TrainConfig& cfg, const ScheduleConfig& schedule, float loss, float norm,
                          TensorMap* grads, AdamW* optimizer, TensorMap* params);

}  // namespace aftune
