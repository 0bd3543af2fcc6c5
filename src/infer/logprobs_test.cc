#include "infer/logprobs.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "tensor/philox.h"

namespace aftune {
namespace {

struct Case {
  std::vector<float> logits;
  SamplingParams params;
  std::vector<int32_t> generated;
  int32_t chosen = 0;
  int64_t top = 0;
};

// ComputeLogprobs against tests/oracle/logprobs_ref.py: log-softmax of
// OpenAI's penalised logits in PyTorch, float64 (within the bound the oracle
// derives) and the documented binary32 procedure emulated in torch.float32
// (bit for bit); top ids by the oracle's own sort. Cases: random logits,
// penalties and biases at the bounds (a logprob near -200), a flat row (all
// ties: ids ascending), top 0 and 20, a chosen token outside the top.
TEST(LogprobsTest, MatchThePyTorchOracle) {
  if (std::system(AFTUNE_PYTHON " -c 'import torch' 2>/dev/null") != 0) GTEST_SKIP() << "no torch";
  Philox rng(77, RandomPurpose::kSampling, 3);
  uint64_t counter = 0;
  auto uniform = [&] { return rng.Uniform(counter++); };
  std::vector<Case> cases;
  const int64_t sizes[] = {61, 61, 61, 61, 997, 8};
  for (int k = 0; k < 6; ++k) {
    Case c;
    const int64_t V = sizes[k];
    c.logits.resize(static_cast<size_t>(V));
    for (float& x : c.logits) x = k == 5 ? 1.5f : (uniform() - 0.5f) * 24.0f;
    for (int i = 0; i < 30; ++i) c.generated.push_back(static_cast<int32_t>(uniform() * 10.0f) * 3 % V);
    if (k == 1) {
      c.params.presence_penalty = 2.0f;
      c.params.frequency_penalty = -0.7f;
      c.params.logit_bias = {{0, -100.0f}, {9, 100.0f}, {40, 0.3f}};
    }
    if (k == 2) c.params.frequency_penalty = 1.25f;
    c.chosen = k == 1 ? 0 : static_cast<int32_t>(uniform() * static_cast<float>(V));
    c.top = std::min<int64_t>(k == 3 ? 0 : k == 4 ? kMaxTopLogprobs : 5, V);
    cases.push_back(std::move(c));
  }
  nlohmann::json request = {{"cases", nlohmann::json::array()}};
  for (const Case& c : cases) {
    nlohmann::json j = {{"generated", c.generated},
                        {"presence_penalty", static_cast<double>(c.params.presence_penalty)},
                        {"frequency_penalty", static_cast<double>(c.params.frequency_penalty)},
                        {"logit_bias", nlohmann::json::object()},
                        {"chosen", c.chosen},
                        {"top", c.top}};
    for (float x : c.logits) j["logits_bits"].push_back(std::bit_cast<uint32_t>(x));
    for (const auto& [id, bias] : c.params.logit_bias) j["logit_bias"][std::to_string(id)] = static_cast<double>(bias);
    request["cases"].push_back(j);
  }
  const std::string dir = (std::filesystem::temp_directory_path() / "aftune-logprobs-oracle").string();
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/request.json") << request.dump();
  const std::string cmd = std::string(AFTUNE_PYTHON) + " " + AFTUNE_SOURCE_DIR + "/tests/oracle/logprobs_ref.py " +
                          dir + "/request.json " + dir + "/out.json";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  const nlohmann::json out = nlohmann::json::parse(std::ifstream(dir + "/out.json"));
  ASSERT_EQ(out["cases"].size(), cases.size());
  bool chosen_outside_top = false;
  for (size_t k = 0; k < cases.size(); ++k) {
    const Case& c = cases[k];
    const nlohmann::json& want = out["cases"][k];
    const PositionLogprobs got = ComputeLogprobs(c.logits.data(), static_cast<int64_t>(c.logits.size()), c.params,
                                                 c.generated, c.chosen, c.top);
    EXPECT_EQ(std::bit_cast<uint32_t>(got.chosen), want["chosen_f32_bits"].get<uint32_t>()) << "case " << k;
    EXPECT_NEAR(got.chosen, want["chosen_f64"].get<double>(), want["tol"].get<double>()) << "case " << k;
    ASSERT_EQ(got.top.size(), want["top_ids"].size()) << "case " << k;
    bool in_top = false;
    for (size_t i = 0; i < got.top.size(); ++i) {
      EXPECT_EQ(got.top[i].id, want["top_ids"][i].get<int32_t>()) << "case " << k << " rank " << i;
      EXPECT_EQ(std::bit_cast<uint32_t>(got.top[i].logprob), want["top_f32_bits"][i].get<uint32_t>()) << k;
      EXPECT_NEAR(got.top[i].logprob, want["top_f64"][i].get<double>(), want["top_tol"][i].get<double>()) << k;
      in_top = in_top || got.top[i].id == c.chosen;
    }
    chosen_outside_top = chosen_outside_top || (!in_top && c.top > 0);
  }
  EXPECT_TRUE(chosen_outside_top);  // the cases exercise a chosen token not among the top
  EXPECT_LT(ComputeLogprobs(cases[1].logits.data(), 61, cases[1].params, cases[1].generated, 0, 0).chosen, -100.0f);
}

// The logprobs of an answer are each position's, over the tokens before it.
TEST(LogprobsTest, AnswerLogprobsArePerPositionOverTheTokensBefore) {
  constexpr int64_t V = 12;
  std::vector<float> rows(3 * V);
  for (size_t i = 0; i < rows.size(); ++i) rows[i] = std::sin(static_cast<float>(i)) * 4.0f;
  SamplingParams p;
  p.frequency_penalty = 0.5f;
  const std::vector<int32_t> tokens = {4, 4, 9};
  const std::vector<PositionLogprobs> all = AnswerLogprobs(rows.data(), V, p, tokens, 3);
  ASSERT_EQ(all.size(), 3u);
  for (size_t t = 0; t < 3; ++t)
    EXPECT_EQ(all[t], ComputeLogprobs(rows.data() + t * V, V, p, std::span(tokens).first(t), tokens[t], 3)) << t;
  EXPECT_NE(all[2], ComputeLogprobs(rows.data() + 2 * V, V, p, {}, 9, 3));  // the penalty counts tokens 0 and 1
}

}  // namespace
}  // namespace aftune
