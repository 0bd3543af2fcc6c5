// The learning-rate schedule: linear warmup, then constant, linear or cosine
// decay, as Hugging Face transformers' get_*_schedule_with_warmup define them
// (transformers/optimization.py), made bit-exact.
//
// The multiplier of the peak learning rate at optimizer step s (0-based: the
// first step is s = 0, as LambdaLR gives it), with W = warmup_steps and
// S = total_steps, every operation in IEEE f64 unless marked f32:
//
//   constant:  lambda = 1                        (every step: no warmup, as HF's)
//   s <  W:    lambda = s / max(1, W)             (every other schedule)
//   s >= W:    q = max(0, (S - s) / max(1, S - W))
//     constant_with_warmup:  lambda = 1
//     linear:    lambda = q
//     cosine:    x = f32(pi/2 * q);  y = SinF(x) (f32);  lambda = y * y
//   lr = f32(learning_rate * lambda)
//
// Integer differences are exact; each division is one f64 division of two
// exactly converted integers. The cosine form uses the identity
// 0.5 * (1 + cos(pi * p)) = sin^2(pi/2 * (1 - p)) with p the progress
// (s - W) / max(1, S - W): it keeps relative accuracy where lambda is tiny
// (near the end), and pi/2 * q is the only argument rounding. pi/2 is the f64
// constant 0x1.921fb54442d18p+0. SinF is aftune's own (mathfn.h).
//
// The one difference from Hugging Face is outside the steps a trainer runs:
// past s = S the cosine schedule stays at 0 (HF's rises again when the
// progress exceeds 1).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace aftune {

enum class LrSchedule { kConstant, kConstantWithWarmup, kLinear, kCosine };

// Every schedule, in LrSchedule order.
inline constexpr LrSchedule kLrSchedules[] = {LrSchedule::kConstant, LrSchedule::kConstantWithWarmup,
                                              LrSchedule::kLinear, LrSchedule::kCosine};

// HF lr_scheduler_type names ("constant", "constant_with_warmup", "linear",
// "cosine"); anything else (other case, spaces, other HF schedules) is
// kInvalidArgument.
Result<LrSchedule> ParseLrSchedule(std::string_view name);
const char* LrScheduleName(LrSchedule s);

struct ScheduleConfig {
  LrSchedule type = LrSchedule::kLinear;
  double learning_rate = 5e-5;  // the peak (HF's default)
  int64_t warmup_steps = 0;
  int64_t total_steps = 1;      // optimizer steps of the whole job
};

// kInvalidArgument unless learning_rate is finite and >= 0, warmup_steps >= 0
// and total_steps >= 1.
Status ValidateScheduleConfig(const ScheduleConfig& cfg);

// The multiplier lambda above. REQUIRES: ValidateScheduleConfig(cfg).ok(), step >= 0.
double LrMultiplier(const ScheduleConfig& cfg, int64_t step);
// The learning rate of optimizer step `step` (0-based). Same REQUIRES.
float LearningRate(const ScheduleConfig& cfg, int64_t step);

}  // namespace aftune
