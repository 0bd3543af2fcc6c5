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

}  // namespace
}  // namespace aftune
