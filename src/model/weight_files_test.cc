// Sharded weight files: the writer's layout (huggingface_hub's sharding rule),
// loading through the index bit-identical to the single file, and every way
// the index and the shards can disagree refused with the tensor and file named.
#include "model/weight_files.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "base/file.h"
#include "model/model_dir.h"
#include "model/safetensors_index.h"
#include "model/test_util.h"
#include "model/weight_writer.h"

namespace aftune {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;
using testing::TestConfig;

ModelConfig Config() { return TestConfig(16, 4, 2, 4, 3, false); }

// Sharded at 4 KB: the 61x16 f32 embedding and head (3904 bytes) fill a shard
// each; each layer's tensors take a shard or two.
constexpr uint64_t kSmallShards = 4000;

std::vector<std::string> Files(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

SafetensorsIndex ReadIndex(const std::string& dir) {
  const std::string path = dir + "/" + kSafetensorsIndexName;
  return ParseSafetensorsIndex(ReadFile(path).value(), path).value();
}

// A float tensor source holding `value` in every element.
TensorSource Constant(const std::string& name, int64_t n, float value) {
  return {name, DType::kF32, {n}, [value](int64_t, int64_t count, float* out) { std::fill_n(out, count, value); }};
}

TEST(WeightFilesTest, ShardedLoadsBitIdenticalToSingleFile) {
  const ModelConfig cfg = Config();
  const TensorMap params = InitModel(cfg, 3);
  const std::string single = TempDir("wf-single"), sharded = TempDir("wf-sharded");
  ASSERT_TRUE(SaveModelDir(single, cfg, params).ok());
  ASSERT_TRUE(SaveModelDir(sharded, cfg, params, kSmallShards).ok());
  EXPECT_FALSE(FileExists(single + "/" + kSafetensorsIndexName));

  const SafetensorsIndex index = ReadIndex(sharded);
  const std::vector<std::string> shards = index.Shards();
  ASSERT_GT(shards.size(), 3u);
  EXPECT_FALSE(FileExists(sharded + "/model.safetensors"));
  EXPECT_EQ(shards.front(), "model-00001-of-" + std::string(5 - std::to_string(shards.size()).size(), '0') +
                                std::to_string(shards.size()) + ".safetensors");
  uint64_t total = 0;
  for (const auto& [name, t] : params) total += static_cast<uint64_t>(t.numel()) * 4;
  EXPECT_EQ(index.total_size, total);
  EXPECT_EQ(index.weight_map.size(), params.size());

  const TensorMap a = LoadModelDir(single).value().ToF32();
  const Result<LoadedModel> b = LoadModelDir(sharded);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  const TensorMap b32 = b->ToF32();
  ASSERT_EQ(a.size(), b32.size());
  for (const auto& [name, t] : a) EXPECT_TRUE(t.BitEqual(b32.at(name))) << name;
  for (const auto& [name, t] : params) EXPECT_TRUE(t.BitEqual(b32.at(name))) << name;

  // One layer-block: only its tensors, from the shards that hold them.
  const LoadedModel block = LoadModelDir(sharded, LayerSpan{1, 2}).value();
  EXPECT_EQ(block.params.size(), 9u);
  for (const auto& [name, t] : block.params) EXPECT_EQ(LayerOfTensor(name), 1) << name;
}

TEST(WeightFilesTest, SingleShardIsTheCanonicalFileAndShardsAreCanonical) {
  const ModelConfig cfg = Config();
  const TensorMap params = InitModel(cfg, 4);
  const std::string single = TempDir("wf-canon1"), sharded = TempDir("wf-canon2");
  ASSERT_TRUE(SaveModelDir(single, cfg, params).ok());
  // The streaming writer's one file equals the whole-file serializer's output.
  EXPECT_EQ(ReadFile(single + "/model.safetensors").value(),
            SerializeSafetensorsF32(params, DType::kF32, {{"format", "pt"}}).value());

  ASSERT_TRUE(SaveModelDir(sharded, cfg, params, kSmallShards).ok());
  const WeightFiles files = WeightFiles::Open(sharded).value();
  EXPECT_TRUE(files.sharded());
  for (const SafetensorsFile& f : files.files()) {
    std::vector<SafetensorsTensorRef> refs;
    for (const SafetensorsEntry& e : f.entries())
      refs.push_back({e.name, e.dtype, e.shape,
                      std::string_view(reinterpret_cast<const char*>(e.bytes.data()), e.bytes.size())});
    EXPECT_EQ(std::string(f.file_bytes()), SerializeSafetensors(refs, {{"format", "pt"}}).value()) << f.source();
  }
}

TEST(WeightFilesTest, ShardsFollowHuggingFaceHubsRule) {
  // Limit 100 bytes; f32 tensors of 40, 40, 40, 152 and 40 bytes, in this
  // order. split_torch_state_dict_into_shards: {a, b}; c would overflow, so
  // {a, b} closes; d exceeds the limit and gets a shard at once, before the
  // open one; then {c, e}.
  const std::string dir = TempDir("wf-rule");
  std::vector<TensorSource> t = {Constant("a", 10, 1), Constant("b", 10, 2), Constant("c", 10, 3),
                                 Constant("d", 38, 4), Constant("e", 10, 5)};
  ASSERT_TRUE(WriteWeightFiles(dir, t, 100, {}).ok());
  const SafetensorsIndex index = ReadIndex(dir);
  const std::map<std::string, std::string> expected = {{"a", "model-00001-of-00003.safetensors"},
                                                       {"b", "model-00001-of-00003.safetensors"},
                                                       {"d", "model-00002-of-00003.safetensors"},
                                                       {"c", "model-00003-of-00003.safetensors"},
                                                       {"e", "model-00003-of-00003.safetensors"}};
  EXPECT_EQ(index.weight_map, expected);
  EXPECT_EQ(index.total_size, 4u * 78);
  const WeightFiles files = WeightFiles::Open(dir).value();
  const WeightFiles::Tensor d = files.Find("d");
  ASSERT_NE(d.entry, nullptr);
  EXPECT_EQ(d.file->source(), dir + "/model-00002-of-00003.safetensors");
  EXPECT_EQ(d.file->ToF32(*d.entry).value()[37], 4.0f);
}

TEST(WeightFilesTest, RewritingInTheOtherLayoutLeavesNoStaleFiles) {
  const ModelConfig cfg = Config();
  const TensorMap params = InitModel(cfg, 5);
  const std::string dir = TempDir("wf-relayout");
  ASSERT_TRUE(SaveModelDir(dir, cfg, params, kSmallShards).ok());
  const size_t many = ReadIndex(dir).Shards().size();
  ASSERT_TRUE(SaveModelDir(dir, cfg, params, 2 * kSmallShards).ok());
  const size_t fewer = ReadIndex(dir).Shards().size();
  ASSERT_LT(fewer, many);
  EXPECT_EQ(Files(dir).size(), fewer + 2);  // the shards, the index, config.json
  ASSERT_TRUE(SaveModelDir(dir, cfg, params).ok());
  EXPECT_EQ(Files(dir), (std::vector<std::string>{"config.json", "model.safetensors"}));
  ASSERT_TRUE(SaveModelDir(dir, cfg, params, kSmallShards).ok());
  EXPECT_EQ(Files(dir).size(), many + 2);
  EXPECT_FALSE(FileExists(dir + "/model.safetensors"));
  EXPECT_TRUE(LoadModelDir(dir).ok());
}

// A sharded model directory to break in one way per test.
class BrokenShardsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TempDir("wf-broken");
    ASSERT_TRUE(SaveModelDir(dir_, Config(), InitModel(Config(), 6), kSmallShards).ok());
    index_ = ReadIndex(dir_);
  }
  // Rewrites shard `file` with `drop` removed and `add` (a tensor of another
  // shard) added.
  void RewriteShard(const std::string& file, const std::string& drop, const std::string& add) {
    const WeightFiles files = WeightFiles::Open(dir_).value();
    std::vector<SafetensorsTensorRef> refs;
    for (const WeightFiles::Tensor& t : files.tensors()) {
      const bool here = t.file->source() == dir_ + "/" + file;
      if ((here && t.entry->name != drop) || t.entry->name == add)
        refs.push_back({t.entry->name, t.entry->dtype, t.entry->shape,
                        std::string_view(reinterpret_cast<const char*>(t.entry->bytes.data()), t.entry->bytes.size())});
    }
    const std::string bytes = SerializeSafetensors(refs, {}).value();
    ASSERT_TRUE(WriteFileAtomic(dir_ + "/" + file, bytes).ok());
  }
  void WriteIndex() {
    ASSERT_TRUE(WriteFileAtomic(dir_ + "/" + kSafetensorsIndexName, SafetensorsIndexToJson(index_)).ok());
  }
  void ExpectError(Status::Code code, const std::vector<std::string>& fragments) {
    SCOPED_TRACE(dir_);
    Result<WeightFiles> r = WeightFiles::Open(dir_);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), code) << r.status().ToString();
    for (const std::string& f : fragments)
      EXPECT_NE(r.status().message().find(f), std::string::npos) << r.status().message() << "\nwants: " << f;
    EXPECT_FALSE(LoadModelDir(dir_).ok());
  }
  std::string ShardOf(const std::string& tensor) { return index_.weight_map.at(tensor); }

  std::string dir_;
  SafetensorsIndex index_;
};

const std::string kQ1 = "model.layers.1.self_attn.q_proj.weight";
const std::string kEmbed = "model.embed_tokens.weight";

TEST_F(BrokenShardsTest, IntactDirectoryOpens) { EXPECT_TRUE(WeightFiles::Open(dir_).ok()); }

TEST_F(BrokenShardsTest, TensorInTwoShards) {
  ASSERT_NE(ShardOf(kQ1), ShardOf(kEmbed));
  RewriteShard(ShardOf(kEmbed), "", kQ1);
  ExpectError(Status::Code::kCorruption, {"tensor '" + kQ1 + "' is in both", ShardOf(kQ1), ShardOf(kEmbed)});
}

TEST_F(BrokenShardsTest, ListedTensorMissingFromItsShard) {
  RewriteShard(ShardOf(kQ1), kQ1, "");
  ExpectError(Status::Code::kCorruption, {dir_ + "/" + ShardOf(kQ1) + ": has no tensor '" + kQ1 + "'"});
}

TEST_F(BrokenShardsTest, ShardTensorNotInTheIndex) {
  index_.weight_map.erase(kQ1);
  WriteIndex();
  ExpectError(Status::Code::kCorruption, {"tensor '" + kQ1 + "' is not listed in model.safetensors.index.json"});
}

TEST_F(BrokenShardsTest, IndexPlacesTensorInAnotherShard) {
  const std::string actual = ShardOf(kQ1);
  index_.weight_map[kQ1] = ShardOf(kEmbed);
  WriteIndex();
  ExpectError(Status::Code::kCorruption, {dir_ + "/" + actual + ": tensor '" + kQ1 + "' is here but",
                                          "places it in " + ShardOf(kEmbed)});
}

TEST_F(BrokenShardsTest, MissingShard) {
  fs::remove(dir_ + "/" + ShardOf(kQ1));
  ExpectError(Status::Code::kNotFound, {ShardOf(kQ1) + ": no such file, but model.safetensors.index.json lists it"});
}

TEST_F(BrokenShardsTest, CorruptShardIsNamed) {
  const std::string path = dir_ + "/" + ShardOf(kQ1);
  std::string bytes = ReadFile(path).value();
  bytes.pop_back();
  ASSERT_TRUE(WriteFileAtomic(path, bytes).ok());
  ExpectError(Status::Code::kCorruption, {path + ": "});
}

TEST_F(BrokenShardsTest, IndexNamingAPathIsRefused) {
  ASSERT_TRUE(WriteFileAtomic(dir_ + "/" + kSafetensorsIndexName,
                              "{\"weight_map\": {\"" + kQ1 + "\": \"../x.safetensors\"}}")
                  .ok());
  ExpectError(Status::Code::kCorruption, {kSafetensorsIndexName, "not a shard file name"});
}

TEST_F(BrokenShardsTest, BothLayoutsAreAmbiguous) {
  ASSERT_TRUE(WriteFileAtomic(dir_ + "/model.safetensors", SerializeSafetensors({}, {}).value()).ok());
  ExpectError(Status::Code::kInvalidArgument, {"holds both model.safetensors and model.safetensors.index.json"});
}

TEST_F(BrokenShardsTest, NeitherLayout) {
  fs::remove(dir_ + "/" + kSafetensorsIndexName);
  ExpectError(Status::Code::kNotFound, {"no model.safetensors and no model.safetensors.index.json"});
}

TEST_F(BrokenShardsTest, TensorTheConfigNeedsIsMissingNamesTheIndex) {
  RewriteShard(ShardOf(kQ1), kQ1, "");
  index_.weight_map.erase(kQ1);
  WriteIndex();
  ASSERT_TRUE(WeightFiles::Open(dir_).ok());
  Result<LoadedModel> r = LoadModelDir(dir_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kNotFound);
  EXPECT_NE(r.status().message().find(kSafetensorsIndexName + std::string(": tensor ") + kQ1 + " is missing"),
            std::string::npos)
      << r.status().message();
}

}  // namespace
}  // namespace aftune
