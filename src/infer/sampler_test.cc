#include "infer/sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "tensor/mathfn.h"
#include "tensor/philox.h"

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

// PenalizedLogits against tests/oracle/penalty_ref.py: OpenAI's formula in
// PyTorch, binary32 (bit for bit) and float64 (close), over random logits,
// histories with repeats, penalties of both signs and biases at the bounds.
TEST(SamplerTest, PenalizedLogitsMatchThePyTorchOracle) {
  if (std::system(AFTUNE_PYTHON " -c 'import torch' 2>/dev/null") != 0) GTEST_SKIP() << "no torch";
  constexpr int64_t V = 61;
  Philox rng(2024, RandomPurpose::kSampling, 99);
  uint64_t counter = 0;
  auto uniform = [&] { return rng.Uniform(counter++); };
  std::vector<SamplingParams> params;
  std::vector<std::vector<float>> logits;
  std::vector<std::vector<int32_t>> generated;
  nlohmann::json request = {{"cases", nlohmann::json::array()}};
  const float penalties[][2] = {{0.5f, 0.25f}, {-2.0f, 2.0f}, {1.3f, -0.7f}, {0.0f, 1.0f}, {2.0f, 0.0f}, {0.0f, 0.0f}};
  for (const auto& [presence, frequency] : penalties) {
    SamplingParams p;
    p.presence_penalty = presence;
    p.frequency_penalty = frequency;
    if (presence == 0.0f && frequency == 0.0f) p.logit_bias = {{0, -100.0f}, {17, 100.0f}, {60, 0.3f}};
    if (presence == 2.0f) p.logit_bias = {{3, 7.25f}};
    std::vector<float> row(V);
    for (float& x : row) x = (uniform() - 0.5f) * 20.0f;
    std::vector<int32_t> gen;
    for (int i = 0; i < 40; ++i) gen.push_back(static_cast<int32_t>(uniform() * 12.0f) * 5 % V);  // repeats
    nlohmann::json c = {{"generated", gen},
                        {"presence_penalty", static_cast<double>(presence)},
                        {"frequency_penalty", static_cast<double>(frequency)},
                        {"logit_bias", nlohmann::json::object()}};
    for (float x : row) c["logits_bits"].push_back(std::bit_cast<uint32_t>(x));
    for (const auto& [id, bias] : p.logit_bias) c["logit_bias"][std::to_string(id)] = static_cast<double>(bias);
    request["cases"].push_back(c);
    params.push_back(p);
    logits.push_back(row);
    generated.push_back(gen);
  }
  const std::string dir = (std::filesystem::temp_directory_path() / "aftune-penalty-oracle").string();
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/request.json") << request.dump();
  const std::string cmd = std::string(AFTUNE_PYTHON) + " " + AFTUNE_SOURCE_DIR + "/tests/oracle/penalty_ref.py " +
                          dir + "/request.json " + dir + "/out.json";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  nlohmann::json out = nlohmann::json::parse(std::ifstream(dir + "/out.json"));
  ASSERT_EQ(out["cases"].size(), params.size());
  for (size_t k = 0; k < params.size(); ++k) {
    const nlohmann::json& want = out["cases"][k];
    const std::vector<float> got = PenalizedLogits(logits[k].data(), V, params[k], generated[k]);
    for (int64_t v = 0; v < V; ++v) {
      EXPECT_EQ(std::bit_cast<uint32_t>(got[v]), want["f32_bits"][v].get<uint32_t>()) << "case " << k << " v " << v;
      EXPECT_NEAR(got[v], want["f64"][v].get<double>(), 1e-5 * (1.0 + std::fabs(got[v]))) << "case " << k;
    }
    SamplingParams greedy = params[k];
    greedy.temperature = 0.0f;
    EXPECT_EQ(SampleToken(logits[k].data(), V, greedy, 0, generated[k]), want["argmax"].get<int32_t>()) << k;
  }
}

// Sampling with penalties is sampling the penalised logits: step 0, then
// the unchanged procedure; with none, the logits are used as they are.
TEST(SamplerTest, PenaltiesComposeWithSampling) {
  std::vector<float> logits(40);
  for (int i = 0; i < 40; ++i) logits[i] = std::sin(static_cast<float>(i) * 0.7f) * 3.0f;
  const std::vector<int32_t> generated = {3, 3, 3, 8, 11, 3, 8};
  SamplingParams p;
  p.temperature = 0.8f;
  p.top_p = 0.9f;
  p.seed = 5;
  p.presence_penalty = 0.6f;
  p.frequency_penalty = 0.4f;
  p.logit_bias = {{2, -100.0f}, {20, 1.5f}};
  SamplingParams plain = p;
  plain.presence_penalty = plain.frequency_penalty = 0.0f;
  plain.logit_bias.clear();
  int differ = 0;
  for (int64_t pos = 0; pos < 300; ++pos) {
    const std::vector<float> l = PenalizedLogits(logits.data(), 40, p, generated);
    const int32_t t = SampleToken(logits.data(), 40, p, pos, generated);
    EXPECT_EQ(t, SampleToken(l.data(), 40, plain, pos));
    EXPECT_NE(t, 2);  // -100 bans it in practice
    differ += t != SampleToken(logits.data(), 40, plain, pos, generated);
    EXPECT_EQ(SampleToken(logits.data(), 40, plain, pos, generated), SampleToken(logits.data(), 40, plain, pos));
  }
  EXPECT_GT(differ, 0);
}

// Choice j draws from Philox stream j: choice 0 is the default, others differ.
TEST(SamplerTest, ChoicesDrawFromTheirOwnStreams) {
  std::vector<float> logits(50, 0.0f);
  SamplingParams p;
  p.seed = 9;
  std::vector<int32_t> zero, one, again;
  for (int64_t pos = 0; pos < 100; ++pos) {
    zero.push_back(SampleToken(logits.data(), 50, p, pos));
    p.choice = 1;
    one.push_back(SampleToken(logits.data(), 50, p, pos));
    p.choice = 0;
  }
  for (int64_t pos = 0; pos < 100; ++pos) {
    // Flat logits: c_i = i + 1, so the pick is the first i with i + 1 > u * 50.
    const float target = Philox(9, RandomPurpose::kSampling, 0).Uniform(static_cast<uint64_t>(pos)) * 50.0f;
    int32_t i = 0;
    while (i < 49 && !(static_cast<float>(i + 1) > target)) ++i;
    again.push_back(i);
  }
  EXPECT_EQ(zero, again);
  EXPECT_NE(zero, one);
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
  p = SamplingParams();
  p.presence_penalty = 2.01f;
  EXPECT_EQ(p.Validate().message().rfind("presence_penalty", 0), 0u);
  p = SamplingParams();
  p.frequency_penalty = -2.5f;
  EXPECT_EQ(p.Validate().message().rfind("frequency_penalty", 0), 0u);
  p = SamplingParams();
  p.frequency_penalty = -2.0f;
  p.logit_bias = {{4, 100.0f}, {7, -100.0f}};
  EXPECT_TRUE(p.Validate().ok());
  p.logit_bias = {{4, 100.5f}};
  EXPECT_EQ(p.Validate().message().rfind("logit_bias", 0), 0u);
  p.logit_bias = {{7, 1.0f}, {4, 1.0f}};
  EXPECT_EQ(p.Validate().message().rfind("logit_bias", 0), 0u);
}

}  // namespace
}  // namespace aftune
