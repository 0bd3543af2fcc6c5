// Every tensor accounted for: the names and shapes each architecture calls
// for, and checkpoints holding a tensor more or less than that refused,
// naming the tensor and the file.
#include "model/llama_names.h"

#include <gtest/gtest.h>

#include "model/model_dir.h"
#include "model/safetensors.h"
#include "model/test_util.h"

namespace aftune {
namespace {

int64_t Elements(const std::map<std::string, std::vector<int64_t>>& shapes) {
  int64_t n = 0;
  for (const auto& [name, shape] : shapes) {
    int64_t e = 1;
    for (int64_t d : shape) e *= d;
    n += e;
  }
  return n;
}

// BaseTensorShapes and NumParameters count the same model from two sides
// (names here, a closed formula in config.cc).
TEST(LlamaNamesTest, ShapesAddUpToTheParameterCount) {
  std::vector<ModelConfig> configs = {testing::TestConfig(64, 4, 2, 16, 3, false),
                                      testing::TestConfig(36, 3, 3, 12, 2, true)};
  for (const testing::ArchCase& a : testing::ArchitectureCases(3)) configs.push_back(a.cfg);
  for (const ModelConfig& c : configs) {
    SCOPED_TRACE(std::string(ModelTypeName(c.model_type)));
    EXPECT_EQ(Elements(BaseTensorShapes(c, WholeModel(c))), c.NumParameters());
  }
}

TEST(LlamaNamesTest, EachArchitectureCallsForItsTensors) {
  ModelConfig c = testing::TestConfig(64, 4, 2, 24, 2, false);
  c.model_type = ModelType::kQwen2;
  auto s = BaseTensorShapes(c, {1, 2});
  EXPECT_EQ(s.at("model.layers.1.self_attn.q_proj.bias"), (std::vector<int64_t>{96}));
  EXPECT_EQ(s.at("model.layers.1.self_attn.k_proj.bias"), (std::vector<int64_t>{48}));
  EXPECT_EQ(s.at("model.layers.1.self_attn.v_proj.bias"), (std::vector<int64_t>{48}));
  EXPECT_FALSE(s.count("model.layers.1.self_attn.o_proj.bias"));
  EXPECT_FALSE(s.count("model.layers.1.mlp.up_proj.bias"));
  EXPECT_FALSE(s.count("model.layers.0.self_attn.q_proj.bias"));  // not in the span

  c.model_type = ModelType::kQwen3;
  s = BaseTensorShapes(c, WholeModel(c));
  EXPECT_EQ(s.at("model.layers.0.self_attn.q_norm.weight"), (std::vector<int64_t>{24}));
  EXPECT_EQ(s.at("model.layers.1.self_attn.k_norm.weight"), (std::vector<int64_t>{24}));
  EXPECT_FALSE(s.count("model.layers.0.self_attn.q_proj.bias"));
  c.attention_bias = true;
  s = BaseTensorShapes(c, WholeModel(c));
  EXPECT_EQ(s.at("model.layers.0.self_attn.o_proj.bias"), (std::vector<int64_t>{64}));

  c.model_type = ModelType::kLlama;
  c.mlp_bias = true;
  s = BaseTensorShapes(c, WholeModel(c));
  EXPECT_EQ(s.at("model.layers.0.mlp.gate_proj.bias"), (std::vector<int64_t>{c.intermediate_size}));
  EXPECT_EQ(s.at("model.layers.0.mlp.down_proj.bias"), (std::vector<int64_t>{64}));
  EXPECT_FALSE(s.count("model.layers.0.self_attn.q_norm.weight"));
}

std::map<std::string, CheckpointTensor> Inventory(const ModelConfig& c, const std::string& file) {
  std::map<std::string, CheckpointTensor> out;
  for (const auto& [name, shape] : BaseTensorShapes(c, WholeModel(c))) out[name] = {file, shape};
  return out;
}

TEST(LlamaNamesTest, CheckCheckpointTensorsNamesTheTensorAndFile) {
  ModelConfig c = testing::TestConfig(64, 4, 2, 16, 2, true);
  c.model_type = ModelType::kQwen3;
  auto inv = Inventory(c, "shard-1.safetensors");
  EXPECT_TRUE(CheckCheckpointTensors(c, inv, "index.json").ok());

  auto extra = inv;
  extra["lm_head.weight"] = {"shard-2.safetensors", {61, 64}};  // tied: the config does not call for it
  Status st = CheckCheckpointTensors(c, extra, "index.json");
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(st.message(), "shard-2.safetensors: tensor lm_head.weight is not part of the model config.json "
                          "describes (qwen3)");

  auto missing = inv;
  missing.erase("model.layers.1.self_attn.k_norm.weight");
  st = CheckCheckpointTensors(c, missing, "index.json");
  EXPECT_EQ(st.code(), Status::Code::kNotFound);
  EXPECT_EQ(st.message(), "index.json: tensor model.layers.1.self_attn.k_norm.weight is missing");

  auto reshaped = inv;
  reshaped["model.layers.0.self_attn.q_norm.weight"].shape = {64};
  st = CheckCheckpointTensors(c, reshaped, "index.json");
  EXPECT_EQ(st.code(), Status::Code::kCorruption);
  EXPECT_EQ(st.message(), "shard-1.safetensors: tensor model.layers.0.self_attn.q_norm.weight has shape [64] "
                          "but config.json implies [16]");
}

// The case: a Qwen2 checkpoint relabelled llama used to load and
// silently drop its q/k/v biases.
TEST(LlamaNamesTest, LoadModelDirRefusesTensorsTheConfigDoesNotCallFor) {
  ModelConfig qwen = testing::TestConfig(64, 4, 2, 16, 2, false);
  qwen.model_type = ModelType::kQwen2;
  const std::string dir = testing::TempDir("inventory");
  ASSERT_TRUE(SaveModelDir(dir, qwen, InitModel(qwen, 1)).ok());
  ASSERT_TRUE(LoadModelDir(dir).ok());
  auto block = LoadModelDir(dir, {1, 2});
  ASSERT_TRUE(block.ok()) << block.status().ToString();
  EXPECT_TRUE(block->params.count("model.layers.1.self_attn.q_proj.bias"));
  EXPECT_FALSE(block->params.count("model.layers.0.self_attn.q_proj.bias"));

  ModelConfig llama = qwen;
  llama.model_type = ModelType::kLlama;
  ASSERT_TRUE(SaveModelDir(dir + "/as-llama", llama, InitModel(llama, 1)).ok());
  ASSERT_TRUE(WriteSafetensors(dir + "/as-llama/model.safetensors", InitModel(qwen, 1), DType::kF32).ok());
  auto r = LoadModelDir(dir + "/as-llama", {1, 2});  // even a block without layer 0
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), dir + "/as-llama/model.safetensors: tensor model.layers.0.self_attn.k_proj.bias "
                                        "is not part of the model config.json describes (llama)");

  TensorMap lacking = InitModel(qwen, 1);
  lacking.erase("model.layers.0.self_attn.v_proj.bias");
  ASSERT_TRUE(WriteSafetensors(dir + "/model.safetensors", lacking, DType::kF32).ok());
  r = LoadModelDir(dir, {1, 2});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kNotFound);
  EXPECT_EQ(r.status().message(), dir + "/model.safetensors: tensor model.layers.0.self_attn.v_proj.bias is missing");
}

}  // namespace
}  // namespace aftune
