// The trainer is deterministic end to end: resuming from a checkpoint, the
// thread count, the layer-block partition and the micro-batch split never
// change a bit of the trained weights.
#include "train/trainer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <unistd.h>

#include "model/model_init.h"
#include "model/tokenizer.h"
#include "tensor/thread_pool.h"
#include "train/checkpoint.h"

namespace aftune {
namespace {

std::string DemoJsonl() {
  std::string s;
  for (int a = 0; a < 6; ++a)
    for (int b = 0; b < 5; ++b)
      s += "{\"prompt\": \"" + std::to_string(a) + "+" + std::to_string(b) + "=\", \"completion\": \"" +
           std::to_string(a + b) + "\"}\n";
  return s;
}

class TrainerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = PresetConfig("tiny").value();
    base_ = InitModel(model_, 4);
    cfg_.max_steps = 6;
    cfg_.per_device_train_batch_size = 4;
    cfg_.learning_rate = 1e-2;
    cfg_.warmup_steps = 2;
    cfg_.max_seq_length = 32;
    cfg_.lora = {4, 8.0, {Proj::kQ, Proj::kV, Proj::kDown}};
    ByteTokenizer tok;
    data_ = ParseJsonlDataset(DemoJsonl(), "demo.jsonl", tok, {32, OverflowPolicy::kReject}).value();
  }
  void TearDown() override { SetDefaultThreads(DefaultThreadCount()); }

  std::unique_ptr<Trainer> Make(const TrainConfig& cfg) {
    auto t = Trainer::Create(cfg, model_, base_, &data_);
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    return std::move(t.value());
  }
  static void RunAll(Trainer* t, std::vector<StepReport>* reports = nullptr) {
    while (t->next_step() < t->total_steps()) {
      auto r = t->RunStep();
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      if (reports) reports->push_back(*r);
    }
  }
  static void ExpectSameState(const Trainer& a, const Trainer& b) {
    ASSERT_EQ(a.trainable().size(), b.trainable().size());
    for (const auto& [name, t] : a.trainable()) EXPECT_TRUE(t.BitEqual(b.trainable().at(name))) << name;
    for (const auto& [name, t] : a.optimizer().state()) EXPECT_TRUE(t.BitEqual(b.optimizer().state().at(name))) << name;
  }

  ModelConfig model_;
  TensorMap base_;
  TrainConfig cfg_;
  Dataset data_;
};

TEST_F(TrainerTest, LossFallsAndWeightsMove) {
  auto t = Make(cfg_);
  std::vector<StepReport> reports;
  RunAll(t.get(), &reports);
  ASSERT_EQ(reports.size(), 6u);
  EXPECT_LT(reports.back().loss, reports.front().loss);
  EXPECT_EQ(reports[0].learning_rate, 0.0f);  // warmup starts at zero
  EXPECT_GT(reports[2].learning_rate, 0.0f);
  for (const auto& r : reports) EXPECT_EQ(r.indices.size(), 4u);
}

TEST_F(TrainerTest, ResumeFromCheckpointIsBitIdentical) {
  auto whole = Make(cfg_);
  RunAll(whole.get());
  std::string path = (std::filesystem::temp_directory_path() /
                      ("aftune-trainer-ckpt-" + std::to_string(::getpid()) + ".safetensors"))
                         .string();
  for (int64_t kill_at : {1, 3, 5}) {
    auto first = Make(cfg_);
    for (int64_t s = 0; s < kill_at; ++s) ASSERT_TRUE(first->RunStep().ok());
    ASSERT_TRUE(SaveCheckpoint(path, *first, "id").ok());
    first.reset();  // the process dies
    auto second = Make(cfg_);
    ASSERT_TRUE(ResumeFromCheckpoint(path, "id", second.get()).ok());
    EXPECT_EQ(second->next_step(), kill_at);
    RunAll(second.get());
    ExpectSameState(*whole, *second);
  }
  auto other = Make(cfg_);
  EXPECT_EQ(ResumeFromCheckpoint(path, "another run", other.get()).code(), Status::Code::kInvalidArgument);
  std::filesystem::remove(path);
}

TEST_F(TrainerTest, ThreadsBlocksAndMicroBatchesDoNotChangeABit) {
  SetDefaultThreads(1);
  auto ref = Make(cfg_);
  RunAll(ref.get());
  for (int threads : {2, 3}) {
    SetDefaultThreads(threads);
    auto t = Make(cfg_);
    RunAll(t.get());
    ExpectSameState(*ref, *t);
  }
  TrainConfig blocks = cfg_;
  blocks.layers_per_block = 1;
  auto b = Make(blocks);
  EXPECT_EQ(b->blocks().size(), 2u);
  RunAll(b.get());
  ExpectSameState(*ref, *b);
  // 4 examples a step as 2 micro-batches of 2: the gradient chains continue
  // across micro-batches in the same order as in one batch.
  TrainConfig accum = cfg_;
  accum.per_device_train_batch_size = 2;
  accum.gradient_accumulation_steps = 2;
  auto a = Make(accum);
  RunAll(a.get());
  ExpectSameState(*ref, *a);
}

TEST_F(TrainerTest, FullFineTuningTrainsEveryBaseTensor) {
  TrainConfig full = cfg_;
  full.full_finetune = true;
  full.lora = LoraConfig{};
  full.learning_rate = 1e-3;
  auto t = Make(full);
  RunAll(t.get());
  EXPECT_EQ(t->trainable().size(), base_.size());
  int changed = 0;
  for (const auto& [name, w] : t->trainable()) changed += !w.BitEqual(base_.at(name));
  EXPECT_EQ(changed, static_cast<int>(base_.size()));
}

TEST_F(TrainerTest, RejectsImpossibleSettings) {
  TrainConfig bad = cfg_;
  bad.max_seq_length = model_.max_position_embeddings + 1;
  EXPECT_FALSE(Trainer::Create(bad, model_, base_, &data_).ok());
}

TEST_F(TrainerTest, LayerBlocksBeyondTheModelAreOneBlock) {
  TrainConfig beyond = cfg_;
  beyond.layers_per_block = model_.num_hidden_layers + 1;
  auto t = Trainer::Create(beyond, model_, base_, &data_);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  ASSERT_EQ((*t)->blocks().size(), 1u);
  EXPECT_EQ((*t)->blocks()[0].begin, 0);
  EXPECT_EQ((*t)->blocks()[0].end, model_.num_hidden_layers);
}

}  // namespace
}  // namespace aftune
