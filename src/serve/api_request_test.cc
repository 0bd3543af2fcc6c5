// ParseApiRequest, field by field: what each accepted parameter becomes in
// the SamplingParams the receipt binds, and the error naming each bad one.
#include "serve/api_request.h"

#include <gtest/gtest.h>

namespace aftune {
namespace {

std::variant<ApiRequest, ApiError> Completion(const std::string& fields) {
  return ParseApiRequest(ApiEndpoint::kCompletions, R"({"model": "m", "prompt": "x")" + fields + "}", 64);
}

// The param of the error a body is refused with ("" when accepted).
std::string RefusedParam(const std::string& fields) {
  auto r = Completion(fields);
  const ApiError* e = std::get_if<ApiError>(&r);
  return e ? e->param : "";
}

TEST(ApiRequest, PenaltiesAndLogitBiasBecomeSamplingParams) {
  auto r = Completion(R"(, "presence_penalty": 0.7, "frequency_penalty": -2, "logit_bias": {"300": -100, "7": 2.5, "0": 100})");
  ASSERT_TRUE(std::holds_alternative<ApiRequest>(r)) << std::get<ApiError>(r).message;
  const SamplingParams& s = std::get<ApiRequest>(r).sampling;
  EXPECT_EQ(s.presence_penalty, 0.7f);
  EXPECT_EQ(s.frequency_penalty, -2.0f);
  const std::vector<std::pair<int32_t, float>> bias = {{0, 100.0f}, {7, 2.5f}, {300, -100.0f}};
  EXPECT_EQ(s.logit_bias, bias);  // ascending ids, whatever the body's order

  auto none = Completion(R"(, "presence_penalty": null, "frequency_penalty": 0, "logit_bias": {})");
  ASSERT_TRUE(std::holds_alternative<ApiRequest>(none));
  EXPECT_EQ(std::get<ApiRequest>(none).sampling.presence_penalty, 0.0f);
  EXPECT_TRUE(std::get<ApiRequest>(none).sampling.logit_bias.empty());
}

TEST(ApiRequest, BadPenaltiesAndBiasesAreRefusedNamingTheField) {
  EXPECT_EQ(RefusedParam(R"(, "presence_penalty": 2.5)"), "presence_penalty");
  EXPECT_EQ(RefusedParam(R"(, "presence_penalty": "1")"), "presence_penalty");
  EXPECT_EQ(RefusedParam(R"(, "frequency_penalty": -2.0001)"), "frequency_penalty");
  EXPECT_EQ(RefusedParam(R"(, "presence_penalty": 2, "frequency_penalty": -2)"), "");  // the bounds are inclusive
  EXPECT_EQ(RefusedParam(R"(, "logit_bias": {"5": 100.5})"), "logit_bias");
  EXPECT_EQ(RefusedParam(R"(, "logit_bias": {"5": -101})"), "logit_bias");
  EXPECT_EQ(RefusedParam(R"(, "logit_bias": {"5": "1"})"), "logit_bias.5");
  EXPECT_EQ(RefusedParam(R"(, "logit_bias": [1])"), "logit_bias");
  for (const char* key : {"-1", "05", "1.0", "", "x", "99999999999", "2147483648"})
    EXPECT_EQ(RefusedParam(R"(, "logit_bias": {")" + std::string(key) + R"(": 1})"), "logit_bias") << key;
  EXPECT_EQ(RefusedParam(R"(, "logit_bias": {"2147483647": 1})"), "");  // the vocabulary is the server's check
}

TEST(ApiRequest, PromptArraysAndChoices) {
  auto r = ParseApiRequest(ApiEndpoint::kCompletions, R"({"model": "m", "prompt": ["a", "b"], "n": 3})", 64);
  ASSERT_TRUE(std::holds_alternative<ApiRequest>(r));
  EXPECT_EQ(std::get<ApiRequest>(r).n, 3);
  ASSERT_EQ(std::get<ApiRequest>(r).prompts.size(), 2u);
  EXPECT_EQ(std::get<ApiRequest>(r).prompts[1].text, "b");
  auto ids = ParseApiRequest(ApiEndpoint::kCompletions, R"({"model": "m", "prompt": [[5, 6], [7]]})", 64);
  ASSERT_TRUE(std::holds_alternative<ApiRequest>(ids));
  const std::vector<ApiPrompt>& p = std::get<ApiRequest>(ids).prompts;
  ASSERT_EQ(p.size(), 2u);
  EXPECT_TRUE(p[0].is_ids && p[1].is_ids);
  EXPECT_EQ(p[0].ids, (std::vector<int32_t>{5, 6}));
  auto one = ParseApiRequest(ApiEndpoint::kCompletions, R"({"model": "m", "prompt": [5, 6]})", 64);
  ASSERT_TRUE(std::holds_alternative<ApiRequest>(one));
  EXPECT_EQ(std::get<ApiRequest>(one).prompts.size(), 1u);
  auto refused = [](const std::string& body) {
    auto x = ParseApiRequest(ApiEndpoint::kCompletions, body, 64);
    return std::holds_alternative<ApiError>(x) ? std::get<ApiError>(x).param : "";
  };
  EXPECT_EQ(refused(R"({"model": "m", "prompt": ["a", 5]})"), "prompt[1]");
  EXPECT_EQ(refused(R"({"model": "m", "prompt": [5, 2147483648]})"), "prompt[1]");
  EXPECT_EQ(refused(R"({"model": "m", "prompt": {"a": 1}})"), "prompt");
  EXPECT_EQ(refused(R"({"model": "m", "prompt": [)" + std::string(16 * 4, ' ') + R"("a","a","a","a","a","a","a","a","a","a","a","a","a","a","a","a","a"]})"),
            "prompt");  // 17 prompts
  EXPECT_EQ(refused(R"({"model": "m", "prompt": ["a", "b"], "n": 32})"), "");
  EXPECT_EQ(refused(R"({"model": "m", "prompt": ["a", "b"], "n": 33})"), "n");
  EXPECT_EQ(refused(R"({"model": "m", "prompt": "a", "n": 64})"), "");
}

}  // namespace
}  // namespace aftune
