#include "infer/sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "tensor/mathfn.h"

namespace aftune {
namespace {

// generation_config.json's sampling fields are defaults, converted as a
// request's numbers are; do_sample false is greedy, as transformers has it.
TEST(SamplerTest, DefaultSamplingIsTheModelsGenerationConfig) {
  const SamplingParams none = DefaultSampling(GenerationConfig{});
  EXPECT_EQ(none.temperature, 1.0f);
  EXPECT_EQ(none.top_p, 1.0f);
  EXPECT_EQ(none.top_k, 0);
  Result<GenerationConfig> llama = ParseGenerationConfig(
      R"({"do_sample": true, "temperature": 0.6, "top_p": 0.9, "top_k": 20, "eos_token_id": [1, 2]})", "g.json");
  ASSERT_TRUE(llama.ok());
  const SamplingParams s = DefaultSampling(*llama);
  EXPECT_EQ(s.temperature, 0.6f);
  EXPECT_EQ(s.top_p, 0.9f);
  EXPECT_EQ(s.top_k, 20);
  Result<GenerationConfig> greedy = ParseGenerationConfig(R"({"do_sample": false, "temperature": 0.6})", "g.json");
  ASSERT_TRUE(greedy.ok());
  EXPECT_EQ(DefaultSampling(*greedy).temperature, 0.0f);
  Result<GenerationConfig> greedy_k = ParseGenerationConfig(R"({"do_sample": false, "top_k": 3})", "g.json");
  ASSERT_TRUE(greedy_k.ok());
  EXPECT_EQ(DefaultSampling(*greedy_k).top_k, 0);
  Result<GenerationConfig> only_p = ParseGenerationConfig(R"({"top_p": 0.5})", "g.json");
  ASSERT_TRUE(only_p.ok());
  EXPECT_EQ(DefaultSampling(*only_p).temperature, 1.0f);
  EXPECT_EQ(DefaultSampling(*only_p).top_p, 0.5f);
}

TEST(SamplerTest, GreedyTakesLargestLogitLowestIdOnTies) {
  std::vector<float> logits = {0.5f, 2.0f, -1.0f, 2.0f};
  SamplingParams p;
  p.temperature = 0.0f;
  EXPECT_EQ(SampleToken(logits.data(), 4, p, 0), 1);
}

// Before the greedy rule, 1e-39 made logits / T overflow to inf, the
// cumulative sums NaN, and the fall-through picked the least likely token.
TEST(SamplerTest, TinyTemperaturesAreGreedy) {
  const std::vector<float> logits = {0.5f, 2.0f, -1.0f, 1.9f, -3.0f};
  for (float t : {1e-39f, 1e-30f, 1e-20f, kGreedyBelowTemperature, std::nextafter(kGreedyBelowTemperature, 1.0f)}) {
    for (int64_t pos = 0; pos < 64; ++pos) {
      SamplingParams p;
      p.temperature = t;
      p.seed = 5;
      EXPECT_EQ(SampleToken(logits.data(), 5, p, pos), 1) << "T=" << t << " position " << pos;
    }
  }
  // logits / T overflows even at a normal temperature: greedy, not NaN.
  const std::vector<float> large = {1e10f, -1e10f, 3e10f, 5.0f};
  SamplingParams p;
  p.temperature = 1e-30f;
  for (int64_t pos = 0; pos < 64; ++pos) EXPECT_EQ(SampleToken(large.data(), 4, p, pos), 2);
}

TEST(SamplerTest, TheGreedyBoundIsExact) {
  // Equal logits: any temperature that samples spreads the choices; below the
  // bound every choice is the lowest id.
  const std::vector<float> flat(8, 0.0f);
  auto distinct = [&](float t) {
    std::vector<bool> seen(8, false);
    for (int64_t pos = 0; pos < 200; ++pos) {
      SamplingParams p;
      p.temperature = t;
      seen[SampleToken(flat.data(), 8, p, pos)] = true;
    }
    return std::count(seen.begin(), seen.end(), true);
  };
  EXPECT_EQ(distinct(1e-39f), 1);
  EXPECT_EQ(distinct(std::nextafter(kGreedyBelowTemperature, 0.0f)), 1);
  EXPECT_EQ(distinct(kGreedyBelowTemperature), 8);
  EXPECT_EQ(distinct(std::nextafter(kGreedyBelowTemperature, 1.0f)), 8);
  EXPECT_EQ(distinct(1e-30f), 8);
}

TEST(SamplerTest, TopKOneAndTinyTopPAreGreedy) {
  std::vector<float> logits = {0.1f, 0.3f, 0.9f, 0.2f, 0.85f};
  for (int64_t pos = 0; pos < 50; ++pos) {
    SamplingParams k1;
    k1.top_k = 1;
    k1.seed = 3;
    EXPECT_EQ(SampleToken(logits.data(), 5, k1, pos), 2);
    SamplingParams p_small;
    p_small.top_p = 1e-6f;
    p_small.seed = 3;
    EXPECT_EQ(SampleToken(logits.data(), 5, p_small, pos), 2);
  }
}

TEST(SamplerTest, FrequenciesFollowTheSoftmax) {
  std::vector<float> logits = {1.0f, 0.0f, -1.0f, 0.5f};
  SamplingParams p;
  p.seed = 11;
  std::vector<int> counts(4, 0);
  const int n = 40000;
  for (int pos = 0; pos < n; ++pos) ++counts[SampleToken(logits.data(), 4, p, pos)];
  double z = 0;
  for (float l : logits) z += std::exp(static_cast<double>(l));
  for (int v = 0; v < 4; ++v) {
    double expected = std::exp(static_cast<double>(logits[v])) / z;
    EXPECT_NEAR(counts[v] / static_cast<double>(n), expected, 0.01) << v;
  }
}

TEST(SamplerTest, TopKExcludesTheRest) {
  std::vector<float> logits = {3.0f, 2.9f, 2.8f, -5.0f, 2.7f};
  SamplingParams p;
  p.top_k = 2;
  p.seed = 1;
  for (int pos = 0; pos < 500; ++pos) {
    int32_t t = SampleToken(logits.data(), 5, p, pos);
    EXPECT_TRUE(t == 0 || t == 1) << t;
  }
}

TEST(SamplerTest, PureFunctionOfSeedAndPosition) {
  std::vector<float> logits(100);
  for (int i = 0; i < 100; ++i) logits[i] = std::sin(static_cast<float>(i));
  SamplingParams p;
  p.temperature = 1.5f;
  p.seed = 77;
  std::vector<int32_t> first, second;
  for (int pos = 0; pos < 200; ++pos) first.push_back(SampleToken(logits.data(), 100, p, pos));
  for (int pos = 0; pos < 200; ++pos) second.push_back(SampleToken(logits.data(), 100, p, pos));
  EXPECT_EQ(first, second);
  p.seed = 78;
  std::vector<int32_t> third;
  for (int pos = 0; pos < 200; ++pos) third.push_back(SampleToken(logits.data(), 100, p, pos));
  EXPECT_NE(first, third);
}

TEST(SamplerTest, ValidateNamesTheParameter) {
  SamplingParams p;
  p.temperature = -1.0f;
  EXPECT_NE(p.Validate().message().find("temperature"), std::string::npos);
  p = SamplingParams();
  p.top_p = 1.5f;
  EXPECT_NE(p.Validate().message().find("top_p"), std::string::npos);
  p = SamplingParams();
  p.top_k = -2;
  EXPECT_NE(p.Validate().message().find("top_k"), std::string::npos);
}

}  // namespace
}  // namespace aftune
