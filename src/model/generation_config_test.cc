#include "model/generation_config.h"

#include <gtest/gtest.h>

namespace aftune {
namespace {

TEST(GenerationConfig, EosListAndSamplingDefaults) {
  // Llama 3.1's generation_config.json.
  Result<GenerationConfig> g = ParseGenerationConfig(
      R"({"bos_token_id": 128000, "do_sample": true, "eos_token_id": [128001, 128008, 128009],
          "temperature": 0.6, "top_p": 0.9, "transformers_version": "4.42.3"})",
      "gc.json");
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(g->eos_token_ids, (std::vector<int64_t>{128001, 128008, 128009}));
  EXPECT_EQ(g->bos_token_id, 128000);
  EXPECT_EQ(g->do_sample, true);
  EXPECT_EQ(g->temperature, 0.6);
  EXPECT_EQ(g->top_p, 0.9);
  EXPECT_FALSE(g->top_k.has_value());
  Result<GenerationConfig> one = ParseGenerationConfig(R"({"eos_token_id": 2, "pad_token_id": null})", "gc.json");
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->eos_token_ids, (std::vector<int64_t>{2}));
  EXPECT_FALSE(one->pad_token_id.has_value());
}

TEST(GenerationConfig, BadFieldsAreNamed) {
  auto err = [](const char* json) { return ParseGenerationConfig(json, "gc.json").status().message(); };
  EXPECT_EQ(err("{").rfind("gc.json: not valid JSON: ", 0), 0u);
  EXPECT_EQ(err(R"({"top_k": 1, "top_k": 2})"), "gc.json: key 'top_k' appears twice");
  EXPECT_EQ(err(R"({"eos_token_id": [1, -2]})"), "gc.json: field 'eos_token_id[1]' must be a non-negative integer");
  EXPECT_EQ(err(R"({"eos_token_id": "2"})"), "gc.json: field 'eos_token_id' must be a non-negative integer");
  EXPECT_EQ(err(R"({"temperature": "hot"})"), "gc.json: field 'temperature' must be a number");
  EXPECT_EQ(err(R"({"do_sample": 1})"), "gc.json: field 'do_sample' must be true or false");
}

}  // namespace
}  // namespace aftune
