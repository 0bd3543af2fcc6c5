#include "train/schedule.h"

#include <algorithm>
#include <cmath>

#include "tensor/mathfn.h"

namespace aftune {
namespace {
constexpr double kPiOver2 = 0x1.921fb54442d18p+0;
}  // namespace

Result<LrSchedule> ParseLrSchedule(std::string_view name) {
  for (LrSchedule s : kLrSchedules)
    if (name == LrScheduleName(s)) return s;
  return Status::InvalidArgument("unknown lr_scheduler_type \"" + std::string(name) +
                                 "\" (want constant, constant_with_warmup, linear or cosine)");
}

const char* LrScheduleName(LrSchedule s) {
  switch (s) {
    case LrSchedule::kConstant: return "constant";
    case LrSchedule::kConstantWithWarmup: return "constant_with_warmup";
    case LrSchedule::kLinear: return "linear";
    case LrSchedule::kCosine: return "cosine";
  }
  AFTUNE_CHECK(false);
  return "";
}

Status ValidateScheduleConfig(const ScheduleConfig& cfg) {
  if (!std::isfinite(cfg.learning_rate) || cfg.learning_rate < 0)
    return Status::InvalidArgument("learning_rate must be finite and >= 0");
  if (cfg.warmup_steps < 0) return Status::InvalidArgument("warmup_steps must be >= 0");
  if (cfg.total_steps < 1) return Status::InvalidArgument("total_steps must be >= 1");
  return Status::Ok();
}

double LrMultiplier(const ScheduleConfig& cfg, int64_t step) {
  AFTUNE_CHECK(step >= 0 && cfg.warmup_steps >= 0 && cfg.total_steps >= 1);
  const int64_t W = cfg.warmup_steps, S = cfg.total_steps;
  if (cfg.type == LrSchedule::kConstant) return 1.0;
  if (step < W) return static_cast<double>(step) / static_cast<double>(std::max<int64_t>(1, W));
  if (cfg.type == LrSchedule::kConstantWithWarmup) return 1.0;
  double q = static_cast<double>(S - step) / static_cast<double>(std::max<int64_t>(1, S - W));
  q = std::max(0.0, q);
  if (cfg.type == LrSchedule::kLinear) return q;
  double y = SinF(static_cast<float>(kPiOver2 * q));
  return y * y;
}

float LearningRate(const ScheduleConfig& cfg, int64_t step) {
  return static_cast<float>(cfg.learning_rate * LrMultiplier(cfg, step));
}

}  // namespace aftune
