// Reading adapter_config.json (model/adapter_dir.h) with the strict reader:
// the errors a user meets before any tensor is read. Kept with the train
// room's tests, which write and load the adapters the trainer produces.
#include "model/adapter_dir.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "base/file.h"
#include "model/model_init.h"

namespace aftune {
namespace {

class AdapterConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (std::filesystem::temp_directory_path() / ("aftune-adapter-config-" + std::to_string(getpid()))).string();
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string ErrorOf(const std::string& config_text) {
    EXPECT_TRUE(WriteFileAtomic(dir_ + "/adapter_config.json", config_text).ok());
    Result<LoadedAdapter> r = LoadAdapterDir(dir_, PresetConfig("tiny").value());
    EXPECT_FALSE(r.ok());
    return r.ok() ? "" : r.status().message();
  }

  std::string dir_;
};

TEST_F(AdapterConfigTest, ARepeatedKeyIsRefusedNamingTheFileAndKey) {
  EXPECT_EQ(ErrorOf(R"({"peft_type": "LORA", "r": 8, "r": 16, "lora_alpha": 16, "target_modules": ["q_proj"]})"),
            dir_ + "/adapter_config.json: key 'r' appears twice");
}

TEST_F(AdapterConfigTest, MalformedJsonNamesTheFileAndLine) {
  const std::string msg = ErrorOf("{\"peft_type\": \"LORA\",\n \"r\": 8,,\n}");
  EXPECT_EQ(msg.rfind(dir_ + "/adapter_config.json: not valid JSON: parse error at line 2", 0), 0u) << msg;
  EXPECT_EQ(ErrorOf(std::string("{}\0", 3)), dir_ + "/adapter_config.json: not valid JSON: NUL byte at byte 2");
  EXPECT_EQ(ErrorOf("[]"), dir_ + "/adapter_config.json: must be a JSON object");
}

}  // namespace
}  // namespace aftune
