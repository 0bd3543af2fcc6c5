// The learning-rate schedule against Hugging Face's formulas evaluated in f64
// (with libm's cos) and against torch.optim.lr_scheduler.LambdaLR driven by
// transcriptions of HF's lambdas (tests/oracle/adamw_ref.py).
#include "train/schedule.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/test_util.h"

namespace aftune {
namespace {

// HF's lambda (transformers/optimization.py) in f64 with std::cos.
double HfLambda(const ScheduleConfig& c, int64_t step) {
  const double W = static_cast<double>(c.warmup_steps), S = static_cast<double>(c.total_steps);
  const double s = static_cast<double>(step);
  if (c.type == LrSchedule::kConstant) return 1.0;  // get_constant_schedule: no warmup
  if (step < c.warmup_steps) return s / std::max(1.0, W);
  switch (c.type) {
    case LrSchedule::kConstant:
    case LrSchedule::kConstantWithWarmup: return 1.0;
    case LrSchedule::kLinear: return std::max(0.0, (S - s) / std::max(1.0, S - W));
    case LrSchedule::kCosine: {
      double progress = (s - W) / std::max(1.0, S - W);
      return std::max(0.0, 0.5 * (1.0 + std::cos(M_PI * 0.5 * 2.0 * progress)));
    }
  }
  return -1;
}

std::vector<ScheduleConfig> Cases() {
  std::vector<ScheduleConfig> out;
  for (LrSchedule t : kLrSchedules) {
    out.push_back({t, 1e-3, 0, 10});
    out.push_back({t, 2e-4, 3, 12});
    out.push_back({t, 5e-5, 100, 1000});
    out.push_back({t, 0.1, 1, 1});
    out.push_back({t, 3e-4, 7, 5});  // warmup longer than the job
    out.push_back({t, 1e-4, 37, 100003});
  }
  return out;
}

TEST(ScheduleTest, NamesRoundTrip) {
  for (LrSchedule t : kLrSchedules) {
    auto parsed = ParseLrSchedule(LrScheduleName(t));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, t);
  }
  EXPECT_STREQ(LrScheduleName(LrSchedule::kConstant), "constant");
  EXPECT_STREQ(LrScheduleName(LrSchedule::kConstantWithWarmup), "constant_with_warmup");
  EXPECT_STREQ(LrScheduleName(LrSchedule::kLinear), "linear");
  EXPECT_STREQ(LrScheduleName(LrSchedule::kCosine), "cosine");
  for (const char* bad : {"", "Linear", "linear ", " cosine", "cosine_with_restarts", "polynomial",
                          "inverse_sqrt", "constant_with_warmup\n"}) {
    auto r = ParseLrSchedule(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  }
}

TEST(ScheduleTest, Validate) {
  EXPECT_TRUE(ValidateScheduleConfig({LrSchedule::kLinear, 1e-3, 0, 1}).ok());
  EXPECT_TRUE(ValidateScheduleConfig({LrSchedule::kLinear, 0.0, 5, 1}).ok());
  for (const ScheduleConfig& bad : std::vector<ScheduleConfig>{
           {LrSchedule::kLinear, -1e-3, 0, 10},
           {LrSchedule::kLinear, NAN, 0, 10},
           {LrSchedule::kLinear, INFINITY, 0, 10},
           {LrSchedule::kCosine, 1e-3, -1, 10},
           {LrSchedule::kCosine, 1e-3, 0, 0},
       }) {
    EXPECT_EQ(ValidateScheduleConfig(bad).code(), Status::Code::kInvalidArgument);
  }
}

// Warmup, constant and linear use the same f64 operations as HF, so the f32
// rate is exactly HF's value rounded once; the cosine differs by the f32
// argument rounding and SinF only.
TEST(ScheduleTest, MatchesHfFormulasInDouble) {
  double worst_cos_abs = 0, worst_cos_rel = 0;
  for (const ScheduleConfig& c : Cases()) {
    ASSERT_TRUE(ValidateScheduleConfig(c).ok());
    std::vector<int64_t> steps;
    for (int64_t s = 0; s <= std::min<int64_t>(c.total_steps, 2000); ++s) steps.push_back(s);
    for (int64_t s = c.total_steps - 50; s <= c.total_steps + 3; ++s)
      if (s > 2000) steps.push_back(s);
    for (int64_t s : steps) {
      double ref = HfLambda(c, s);
      if (s >= c.total_steps && s >= c.warmup_steps && c.type == LrSchedule::kCosine) ref = 0;  // aftune stays at 0
      if (c.type != LrSchedule::kCosine || s < c.warmup_steps) {
        EXPECT_EQ(LrMultiplier(c, s), ref) << LrScheduleName(c.type) << " step " << s;
        EXPECT_EQ(LearningRate(c, s), static_cast<float>(c.learning_rate * ref)) << s;
        continue;
      }
      double got = LrMultiplier(c, s);
      double abs_err = std::fabs(got - ref);
      worst_cos_abs = std::max(worst_cos_abs, abs_err);
      if (ref > 0) worst_cos_rel = std::max(worst_cos_rel, abs_err / ref);
      EXPECT_LE(abs_err, 2e-7 * ref + 1e-15) << "cosine step " << s << " of " << c.total_steps;
      float lr = LearningRate(c, s);
      EXPECT_LE(std::fabs(lr - c.learning_rate * ref), 3e-7 * c.learning_rate * ref + 1e-20) << s;
    }
  }
  std::printf("cosine multiplier vs f64 HF formula: max abs error %.2e, max rel error %.2e\n",
              worst_cos_abs, worst_cos_rel);
}

TEST(ScheduleTest, Shapes) {
  ScheduleConfig c{LrSchedule::kCosine, 1e-3, 4, 20};
  EXPECT_EQ(LearningRate(c, 0), 0.0f);  // HF: the first warmup step has lr 0
  EXPECT_EQ(LearningRate(c, 2), static_cast<float>(1e-3 * 0.5));
  EXPECT_EQ(LearningRate(c, 4), static_cast<float>(1e-3));  // sin(pi/2) rounds to 1
  EXPECT_EQ(LearningRate(c, 20), 0.0f);
  EXPECT_EQ(LearningRate(c, 25), 0.0f);
  for (int64_t s = 5; s < 20; ++s) {
    EXPECT_LT(LearningRate(c, s), LearningRate(c, s - 1));
    EXPECT_GT(LearningRate(c, s), 0.0f);
  }
  ScheduleConfig lin{LrSchedule::kLinear, 1e-3, 0, 4};
  EXPECT_EQ(LearningRate(lin, 0), 1e-3f);
  EXPECT_EQ(LearningRate(lin, 4), 0.0f);
  EXPECT_EQ(LearningRate(lin, 9), 0.0f);
  ScheduleConfig con{LrSchedule::kConstantWithWarmup, 1e-3, 2, 4};
  EXPECT_EQ(LearningRate(con, 1), static_cast<float>(1e-3 * 0.5));
  EXPECT_EQ(LearningRate(con, 1000000), 1e-3f);
  // HF's "constant" ignores warmup_steps.
  ScheduleConfig flat{LrSchedule::kConstant, 1e-3, 2, 4};
  EXPECT_EQ(LearningRate(flat, 0), 1e-3f);
  EXPECT_EQ(LearningRate(flat, 1), 1e-3f);
}

// Pinned bits: the cosine schedule must give these on every machine and
// instruction set (a change here changes every contract's learning rates).
TEST(ScheduleTest, PinnedCosineBits) {
  ScheduleConfig c{LrSchedule::kCosine, 2e-4, 10, 1000};
  const std::pair<int64_t, uint32_t> kPinned[] = {
      {10, 0x3951b717}, {11, 0x3951b6f5}, {333, 0x391f4a5c}, {505, 0x38d1b717},  // 505: exactly 1e-4
      {900, 0x36a78895}, {998, 0x310a6689}, {999, 0x300a669f},
  };
  for (auto [step, bits] : kPinned) {
    EXPECT_EQ(std::bit_cast<uint32_t>(LearningRate(c, step)), bits)
        << "step " << step << ": 0x" << std::hex << std::bit_cast<uint32_t>(LearningRate(c, step));
  }
}

TEST(ScheduleTest, MatchesPyTorchLambdaLR) {
  std::string dir = testing::TempDir("schedule-oracle");
  nlohmann::json req;
  req["cases"] = nlohmann::json::array();
  std::vector<ScheduleConfig> cases = Cases();
  std::vector<int64_t> steps;
  for (const ScheduleConfig& c : cases) {
    steps.push_back(std::min<int64_t>(c.total_steps + 3, 1100));
    req["cases"].push_back({{"type", LrScheduleName(c.type)}, {"learning_rate", c.learning_rate},
                            {"warmup_steps", c.warmup_steps}, {"total_steps", c.total_steps},
                            {"steps", steps.back()}});
  }
  std::ofstream(dir + "/request.json") << req.dump();
  std::string cmd = std::string(AFTUNE_PYTHON) + " " + AFTUNE_SOURCE_DIR + "/tests/oracle/adamw_ref.py schedule " +
                    dir + "/request.json " + dir + "/out.json";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  nlohmann::json out = nlohmann::json::parse(std::ifstream(dir + "/out.json"));
  double worst = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const ScheduleConfig& c = cases[i];
    const auto& lrs = out["lr"][i];
    ASSERT_EQ(lrs.size(), static_cast<size_t>(steps[i]));
    for (int64_t s = 0; s < steps[i]; ++s) {
      double ref = lrs[static_cast<size_t>(s)].get<double>();
      float got = LearningRate(c, s);
      if (c.type == LrSchedule::kCosine && s >= c.warmup_steps) {
        if (s >= c.total_steps) continue;  // HF's cosine rises again past the end
        double err = std::fabs(got - ref);
        EXPECT_LE(err, 3e-7 * ref + 1e-20) << "case " << i << " step " << s;
        if (ref > 0) worst = std::max(worst, err / ref);
      } else {
        EXPECT_EQ(got, static_cast<float>(ref)) << "case " << i << " step " << s;
      }
    }
  }
  std::printf("LambdaLR: warmup/constant/linear bit-equal after f32 rounding; cosine max rel error %.2e\n",
              worst);
}

}  // namespace
}  // namespace aftune
