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

namespace aftune {
namespace {

std::variant<ApiRequest, ApiError> Chat(const std::string& fields) {
  return ParseApiRequest(ApiEndpoint::kChatCompletions,
                         R"({"model": "m", "messages": [{"role": "user", "content": "x"}])" + fields + "}", 64);
}

std::string ChatRefusedParam(const std::string& fields) {
  auto r = Chat(fields);
  const ApiError* e = std::get_if<ApiError>(&r);
  return e ? e->param : "";
}

int64_t Logprobs(const std::variant<ApiRequest, ApiError>& r) {
  const ApiRequest* a = std::get_if<ApiRequest>(&r);
  EXPECT_TRUE(a) << std::get<ApiError>(r).message;
  return a ? a->logprobs : -2;
}

// Completions: logprobs an integer in [0, 5], the number of alternatives.
TEST(ApiRequest, CompletionsLogprobsIsAnIntegerUpToFive) {
  EXPECT_EQ(Logprobs(Completion("")), -1);
  EXPECT_EQ(Logprobs(Completion(R"(, "logprobs": null)")), -1);
  EXPECT_EQ(Logprobs(Completion(R"(, "logprobs": 0)")), 0);
  EXPECT_EQ(Logprobs(Completion(R"(, "logprobs": 5)")), 5);
  for (const char* bad : {"6", "-1", "true", "1.5", "\"2\""})
    EXPECT_EQ(RefusedParam(R"(, "logprobs": )" + std::string(bad)), "logprobs") << bad;
  EXPECT_EQ(RefusedParam(R"(, "top_logprobs": 2)"), "top_logprobs");  // chat's field
}

// Chat: logprobs a boolean, top_logprobs in [0, 20] and only with it.
TEST(ApiRequest, ChatLogprobsIsABooleanWithTopLogprobs) {
  EXPECT_EQ(Logprobs(Chat("")), -1);
  EXPECT_EQ(Logprobs(Chat(R"(, "logprobs": false)")), -1);
  EXPECT_EQ(Logprobs(Chat(R"(, "logprobs": false, "top_logprobs": 0)")), -1);
  EXPECT_EQ(Logprobs(Chat(R"(, "logprobs": true)")), 0);
  EXPECT_EQ(Logprobs(Chat(R"(, "logprobs": true, "top_logprobs": null)")), 0);
  EXPECT_EQ(Logprobs(Chat(R"(, "logprobs": true, "top_logprobs": 20)")), 20);
  EXPECT_EQ(ChatRefusedParam(R"(, "logprobs": true, "top_logprobs": 21)"), "top_logprobs");
  EXPECT_EQ(ChatRefusedParam(R"(, "logprobs": true, "top_logprobs": -1)"), "top_logprobs");
  EXPECT_EQ(ChatRefusedParam(R"(, "logprobs": 1)"), "logprobs");
  EXPECT_EQ(ChatRefusedParam(R"(, "top_logprobs": 3)"), "top_logprobs");  // without logprobs
  EXPECT_EQ(ChatRefusedParam(R"(, "logprobs": false, "top_logprobs": 3)"), "top_logprobs");
}

// Not with stream (yet): refused naming logprobs; false/absent streams fine.
TEST(ApiRequest, LogprobsWithStreamAreRefusedNamingTheField) {
  auto r = Chat(R"(, "logprobs": true, "stream": true)");
  ASSERT_TRUE(std::holds_alternative<ApiError>(r));
  EXPECT_EQ(std::get<ApiError>(r).param, "logprobs");
  EXPECT_NE(std::get<ApiError>(r).message.find("stream"), std::string::npos);
  EXPECT_EQ(RefusedParam(R"(, "logprobs": 0, "stream": true)"), "logprobs");
  EXPECT_EQ(ChatRefusedParam(R"(, "logprobs": false, "stream": true)"), "");
}

}  // namespace
}  // namespace aftune
