#include "model/model_init.h"

#include <gtest/gtest.h>

#include "base/file.h"
#include "model/model_dir.h"
#include "model/test_util.h"
#include "model/weight_files.h"
#include "tensor/thread_pool.h"

namespace aftune {
namespace {

// Parameter counts as published for each checkpoint (the safetensors
// metadata of its Hugging Face repository), Qwen2.5's q/k/v biases and
// Qwen3's q/k norms included; and the architecture keys each preset carries.
TEST(ModelInitTest, PresetsHaveThePublishedShapes) {
  const std::map<std::string, int64_t> published = {
      {"smollm2-135m", 134'515'008},
      {"qwen2.5-0.5b", 494'032'768},
      {"qwen3-0.6b", 596'049'920},
      {"tinyllama-1.1b", 1'100'048'384},
      {"llama-3.2-1b", 1'235'814'400},
      {"mistral-7b", 7'241'732'096},
      {"llama-3.1-8b", 8'030'261'248},
  };
  for (const auto& [name, count] : published) {
    Result<ModelConfig> cfg = PresetConfig(name);
    ASSERT_TRUE(cfg.ok()) << name;
    EXPECT_TRUE(cfg->Validate().ok()) << name;
    EXPECT_EQ(cfg->NumParameters(), count) << name;
    EXPECT_EQ(cfg->torch_dtype, "bfloat16") << name;
  }
  const ModelConfig l8 = PresetConfig("llama-3.1-8b").value();
  EXPECT_EQ(l8.head_dim, 128);
  EXPECT_EQ(l8.rope_theta, 500000.0);
  EXPECT_FALSE(l8.tie_word_embeddings);
  EXPECT_EQ(l8.rope_scaling.type, RopeType::kLlama3);
  EXPECT_EQ(l8.rope_scaling.factor, 8.0);
  EXPECT_EQ(PresetConfig("llama-3.2-1b")->rope_scaling.factor, 32.0);
  EXPECT_EQ(PresetConfig("mistral-7b")->sliding_window, 4096);
  EXPECT_EQ(PresetConfig("qwen2.5-0.5b")->model_type, ModelType::kQwen2);
  const ModelConfig q3 = PresetConfig("qwen3-0.6b").value();
  EXPECT_EQ(q3.model_type, ModelType::kQwen3);
  EXPECT_EQ(q3.head_dim * q3.num_attention_heads, 2048);  // head_dim independent of hidden / heads
  EXPECT_TRUE(q3.tie_word_embeddings);
}

TEST(ModelInitTest, UnknownPresetListsTheKnownOnes) {
  Result<ModelConfig> r = PresetConfig("llama-9");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("unknown preset 'llama-9'"), std::string::npos);
  EXPECT_NE(r.status().message().find("llama-3.1-8b"), std::string::npos);
  EXPECT_EQ(PresetNames().size(), 9u);
}

TEST(ModelInitTest, ValuesDoNotDependOnHowTheRangeIsCut) {
  const std::vector<int64_t> shape = {7, 9};
  std::vector<float> whole(63), parts(63);
  InitTensorValues("w", shape, 11, 0, 63, whole.data());
  InitTensorValues("w", shape, 11, 0, 20, parts.data());
  InitTensorValues("w", shape, 11, 20, 43, parts.data() + 20);
  EXPECT_EQ(whole, parts);
  std::vector<float> norm(5);
  InitTensorValues("n", {5}, 11, 0, 5, norm.data());
  EXPECT_EQ(norm, std::vector<float>(5, 1.0f));
}

// The streaming writer gives the same files as saving InitModel's tensors,
// whatever the thread count, in every layout.
TEST(ModelInitTest, StreamingInitEqualsSavingTheTensors) {
  ModelConfig cfg = PresetConfig("tiny").value();
  for (const char* dtype : {"float32", "bfloat16"}) {
    cfg.torch_dtype = dtype;
    for (uint64_t shard : {kDefaultMaxShardBytes, uint64_t{20000}}) {
      const std::string saved = testing::TempDir("init-saved"), streamed = testing::TempDir("init-streamed");
      ASSERT_TRUE(SaveModelDir(saved, cfg, InitModel(cfg, 9), shard).ok());
      for (int threads : {1, 3}) {
        SetDefaultThreads(threads);
        ASSERT_TRUE(WriteInitModel(streamed, cfg, 9, shard).ok());
        const WeightFiles a = WeightFiles::Open(saved).value(), b = WeightFiles::Open(streamed).value();
        ASSERT_EQ(a.files().size(), b.files().size());
        EXPECT_EQ(a.sharded(), shard != kDefaultMaxShardBytes);
        for (size_t i = 0; i < a.files().size(); ++i)
          EXPECT_EQ(a.files()[i].file_bytes(), b.files()[i].file_bytes()) << dtype << " " << i;
        EXPECT_EQ(ReadFile(saved + "/config.json").value(), ReadFile(streamed + "/config.json").value());
      }
    }
  }
  SetDefaultThreads(2);
}

TEST(ModelInitTest, RealShapeWithFewLayersLoads) {
  ModelConfig cfg = PresetConfig("smollm2-135m").value();
  cfg.num_hidden_layers = 1;
  const std::string dir = testing::TempDir("init-smol");
  ASSERT_TRUE(WriteInitModel(dir, cfg, 1).ok());
  const Result<LoadedModel> m = LoadModelDir(dir);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->config.vocab_size, 49152);
  EXPECT_EQ(m->params.at("model.embed_tokens.weight").shape, (std::vector<int64_t>{49152, 576}));
  EXPECT_EQ(m->params.at("model.embed_tokens.weight").dtype, DType::kBF16);  // resident as stored
  EXPECT_EQ(WeightFiles::Open(dir).value().files().front().entries().front().dtype, DType::kBF16);
}

}  // namespace
}  // namespace aftune
