// A served base's slices: byte for byte the answer an independent Python
// implementation of docs/formats.md writes (tests/oracle/base_slice_ref.py),
// for an untied bf16 base and a tied one, sharded or not; every tensor
// proven under the base's state digest as DigestModelDir computes it; the
// contract check; the small files.
#include "provide/served_base.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "base/file.h"
#include "model/model_init.h"
#include "protocol/base_slice.h"
#include "train/trainer.h"

namespace aftune {
namespace {

std::string TestDir(const std::string& tag) {
  const std::string dir =
      (std::filesystem::temp_directory_path() / ("aftune-served-base-" + tag + "-" + std::to_string(::getpid())))
          .string();
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

ModelConfig Tiny(bool tied) {
  ModelConfig cfg = PresetConfig("tiny").value();
  cfg.num_hidden_layers = 3;
  cfg.torch_dtype = "bfloat16";
  cfg.tie_word_embeddings = tied;
  return cfg;
}

std::string AnswerBytes(const SliceAnswer& a) {
  std::string out = a.prefix;
  for (const StreamPiece& p : a.pieces) out.append(reinterpret_cast<const char*>(p.bytes.data()), p.bytes.size());
  return out;
}

// Every block's answer equals the oracle's, and proves under the state digest.
void ExpectSlicesAsTheOracleWritesThem(const std::string& dir, const ModelConfig& cfg) {
  auto base = ServedBase::Open(dir);
  ASSERT_TRUE(base.ok()) << base.status().ToString();
  const Hash state = WeightsStateDigest(dir).value();
  EXPECT_EQ((*base)->state(), state);
  for (const LayerSpan& layers : LayerBlocks(cfg, 2)) {
    auto answer = (*base)->Slice(layers);
    ASSERT_TRUE(answer.ok()) << answer.status().ToString();
    const std::string bytes = AnswerBytes(*answer);
    EXPECT_EQ(answer->size(), bytes.size());
    const std::string expected_path = dir + "/expected.safetensors";
    const std::string cmd = std::string(AFTUNE_PYTHON) + " " + AFTUNE_SOURCE_DIR + "/tests/oracle/base_slice_ref.py " +
                            dir + " " + std::to_string(layers.begin) + " " + std::to_string(layers.end) + " " +
                            expected_path + " > " + dir + "/oracle_root.txt";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    EXPECT_EQ(bytes, ReadFile(expected_path).value()) << "layers [" << layers.begin << ", " << layers.end << ")";
    EXPECT_EQ(ReadFile(dir + "/oracle_root.txt").value(), HashToHex(state) + "\n");

    auto slice = ParseBaseSliceAnswer(bytes, "answer");
    ASSERT_TRUE(slice.ok()) << slice.status().ToString();
    const auto want = BaseTensorShapes(cfg, layers);
    ASSERT_EQ(slice->tensors.size(), want.size());
    for (const auto& [name, view] : slice->tensors) {
      ASSERT_TRUE(want.count(name)) << name;
      EXPECT_EQ(view.shape, want.at(name));
      EXPECT_EQ(view.dtype, DType::kBF16);
      const std::vector<uint64_t> dims(view.shape.begin(), view.shape.end());
      const Hash digest = TensorDigest(name, "BF16", dims,
                                       {static_cast<const uint8_t*>(view.data), static_cast<size_t>(view.numel()) * 2});
      const SliceProof& p = slice->proofs.at(name);
      EXPECT_TRUE(VerifyInclusion(p.index, slice->tree_size, LeafHash(digest), p.path, state).ok()) << name;
    }
  }
}

TEST(ServedBase, SlicesAreTheOraclesAndProveUnderTheStateDigest) {
  const std::string dir = TestDir("untied");
  const ModelConfig cfg = Tiny(false);
  ASSERT_TRUE(WriteInitModel(dir, cfg, 5).ok());
  ExpectSlicesAsTheOracleWritesThem(dir, cfg);
  std::filesystem::remove_all(dir);
}

TEST(ServedBase, TiedShardedBaseSlicesHoldTheEmbeddingInTheLastBlock) {
  const std::string dir = TestDir("tied");
  const ModelConfig cfg = Tiny(true);
  ASSERT_TRUE(WriteInitModel(dir, cfg, 6, /*max_shard_bytes=*/40000).ok());
  ASSERT_TRUE(std::filesystem::exists(dir + "/model.safetensors.index.json"));
  ExpectSlicesAsTheOracleWritesThem(dir, cfg);
  auto base = ServedBase::Open(dir).value();
  const LayerSpan last = LayerBlocks(cfg, 2).back();
  auto slice = ParseBaseSliceAnswer(AnswerBytes(base->Slice(last).value()), "last").value();
  EXPECT_TRUE(slice.tensors.count(EmbeddingName()));
  EXPECT_FALSE(slice.tensors.count(HeadName()));
  std::filesystem::remove_all(dir);
}

TEST(ServedBase, ChecksTheContractAndServesTheSmallFiles) {
  const std::string dir = TestDir("contract");
  const ModelConfig cfg = Tiny(false);
  ASSERT_TRUE(WriteInitModel(dir + "/base", cfg, 7).ok());
  std::ofstream(dir + "/data.jsonl") << "{\"text\": \"1+1=2\"}\n{\"text\": \"2+2=4\"}\n";
  TrainConfig training;
  training.max_steps = 2;
  const Contract contract = BuildContract(dir + "/base", dir + "/data.jsonl", training, AuditGrid{}).value();
  auto base = ServedBase::Open(dir + "/base").value();
  EXPECT_TRUE(base->CheckContract(contract).ok());
  EXPECT_EQ(base->File("config.json").value(), ReadFile(dir + "/base/config.json").value());
  EXPECT_EQ(base->File("tokenizer.json").status().code(), Status::Code::kNotFound);  // the byte tokenizer
  EXPECT_EQ(base->File("../contract.json").status().code(), Status::Code::kNotFound);

  Contract other = contract;
  other.base_config_digest[0] ^= 1;
  other.chat_digest = Hash{};
  const Status s = base->CheckContract(other);
  EXPECT_EQ(s.code(), Status::Code::kMismatch);
  EXPECT_NE(s.message().find("base model config " + dir + "/base/config.json does not match"), std::string::npos)
      << s.ToString();
  EXPECT_NE(s.message().find("chat template"), std::string::npos) << s.ToString();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace aftune
