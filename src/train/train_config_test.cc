// ParseTrainConfig's reading of the file's bytes (the terms themselves are
// tested with the training-terms table, protocol/training_terms_test.cc).
#include "train/train_config.h"

#include <gtest/gtest.h>

#include <string>

namespace aftune {
namespace {

std::string ErrorOf(const std::string& text) {
  Result<TrainConfig> r = ParseTrainConfig(text, "cfg.json");
  EXPECT_FALSE(r.ok()) << text;
  return r.ok() ? "" : r.status().message();
}

TEST(TrainConfig, ARepeatedKeyIsRefusedNamingIt) {
  EXPECT_EQ(ErrorOf(R"({"learning_rate": 0.001, "learning_rate": 0.1})"),
            "cfg.json: key 'learning_rate' appears twice");
  EXPECT_EQ(ErrorOf(R"({"method": "lora", "method": "full"})"), "cfg.json: key 'method' appears twice");
}

TEST(TrainConfig, MalformedBytesNameTheFileAndWhere) {
  const std::string truncated = ErrorOf("{\"learning_rate\": 0.001,\n");
  EXPECT_EQ(truncated.rfind("cfg.json: not valid JSON: parse error at line 2", 0), 0u) << truncated;
  EXPECT_EQ(ErrorOf("{} x").rfind("cfg.json: not valid JSON: ", 0), 0u);
  EXPECT_EQ(ErrorOf(std::string("{}\0", 3)), "cfg.json: not valid JSON: NUL byte at byte 2");
  EXPECT_EQ(ErrorOf("[]"), "cfg.json: must be a JSON object");
  Result<TrainConfig> r = ParseTrainConfig("{\"learning_rate\": 1", "cfg.json");
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
}

TEST(TrainConfig, AWellFormedFileParses) {
  Result<TrainConfig> r = ParseTrainConfig(R"({"learning_rate": 0.005})", "cfg.json");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_DOUBLE_EQ(r->learning_rate, 0.005);
}

}  // namespace
}  // namespace aftune
