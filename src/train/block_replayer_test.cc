// Re-executing one layer-block alone over a step-block, from the tensors that
// crossed its edges in the full trainer's run, reproduces that run bit for
// bit: the boundary tensors the block produces, its gradient sums of
// squares, the gradient norm, the loss (last block), the learning rate and
// its end state — for every block (first, middle, last), with LoRA and full
// fine-tuning, several micro-batches, and any thread count.
#include "train/block_replayer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>

#include "model/model_init.h"
#include "model/tokenizer.h"
#include "tensor/thread_pool.h"
#include "train/grad_clip.h"

namespace aftune {
namespace {

using Boundaries = std::map<std::pair<int64_t, int64_t>, std::vector<Tensor>>;  // (step, boundary) -> [micro]

// Keeps everything the trainer shows it.
class KeepAll : public StepObserver {
 public:
  void OnActivation(int64_t step, int64_t micro, int64_t b, const Tensor& x) override { Put(&act, step, micro, b, x); }
  void OnGradient(int64_t step, int64_t micro, int64_t b, const Tensor& dx) override { Put(&grad, step, micro, b, dx); }
  void OnGradients(int64_t step, const TensorMap& grads) override {
    for (const auto& [name, g] : grads) sumsq[step][name] = SumOfSquares(g);
  }
  Boundaries act, grad;
  std::map<int64_t, std::map<std::string, double>> sumsq;

 private:
  static void Put(Boundaries* m, int64_t step, int64_t micro, int64_t b, const Tensor& t) {
    auto& v = (*m)[{step, b}];
    ASSERT_EQ(static_cast<int64_t>(v.size()), micro);
    v.push_back(t);
  }
};

std::string Jsonl() {
  std::string s;
  for (int a = 0; a < 7; ++a)
    for (int b = 0; b < 3; ++b)
      s += "{\"prompt\": \"" + std::to_string(a) + "+" + std::to_string(b) + "=\", \"completion\": \"" +
           std::to_string(a + b) + "\"}\n";
  return s;
}

class BlockReplayerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = PresetConfig("tiny").value();
    model_.num_hidden_layers = 3;  // blocks of one layer: first, middle, last
    base_ = InitModel(model_, 5);
    cfg_.max_steps = 6;
    cfg_.per_device_train_batch_size = 3;
    cfg_.gradient_accumulation_steps = 2;
    cfg_.learning_rate = 2e-2;
    cfg_.warmup_steps = 1;
    cfg_.max_grad_norm = 0.5;  // clipping active
    cfg_.weight_decay = 0.01;
    cfg_.max_seq_length = 32;
    cfg_.layers_per_block = 1;
    cfg_.lora = {4, 8.0, {Proj::kQ, Proj::kV, Proj::kDown}};
    ByteTokenizer tok;
    data_ = ParseJsonlDataset(Jsonl(), "d.jsonl", tok, {32, OverflowPolicy::kReject}).value();
  }
  void TearDown() override { SetDefaultThreads(DefaultThreadCount()); }

  // The state of block k in `t` (trainable tensors of its span and moments).
  TensorMap BlockState(const Trainer& t, size_t k) const {
    const LayerSpan span = t.blocks()[k];
    const auto names = t.config().full_finetune ? OwnedTensorShapes(model_, t.blocks(), k)
                                                : LoraTensorShapes(model_, t.config().lora, span);
    TensorMap out;
    for (const auto& [name, shape] : names) {
      out.emplace(name, t.trainable().at(name));
      for (const std::string& m : {ExpAvgName(name), ExpAvgSqName(name)}) out.emplace(m, t.optimizer().state().at(m));
    }
    return out;
  }
  TensorMap SpanBase(LayerSpan span) const {
    TensorMap out;
    for (const auto& [name, shape] : BaseTensorShapes(model_, span)) out.emplace(name, base_.at(name));
    return out;
  }

  // Trains with `cfg` keeping everything, then replays every cell (block k,
  // or the blocks ReplayGroup puts together, over steps [s0, s0 + 3)) alone
  // with `threads` threads and compares.
  void CheckEveryCell(const TrainConfig& cfg, int threads) {
    const int64_t kStepsPerBlock = 3;
    auto trainer = Trainer::Create(cfg, model_, base_, &data_).value();
    const size_t B = trainer->blocks().size();
    ASSERT_EQ(B, 3u);
    KeepAll seen;
    std::vector<StepReport> reports;
    std::map<std::pair<int64_t, size_t>, TensorMap> states;  // (step, block)
    for (int64_t s = 0; s <= trainer->total_steps(); ++s) {
      if (s % kStepsPerBlock == 0)
        for (size_t k = 0; k < B; ++k) states[{s, k}] = BlockState(*trainer, k);
      if (s == trainer->total_steps()) break;
      reports.push_back(trainer->RunStep(&seen).value());
    }
    SetDefaultThreads(threads);
    for (int64_t s0 = 0; s0 < trainer->total_steps(); s0 += kStepsPerBlock) {
      for (size_t k = 0; k < B; ++k) {
        const std::vector<size_t> group = ReplayGroup(cfg, model_, B, k);
        if (group.front() != k) continue;  // replayed with its group's first block
        auto held = [&](size_t b) { return std::find(group.begin(), group.end(), b) != group.end(); };
        SCOPED_TRACE("blocks " + std::to_string(group.front()) + ".." + std::to_string(group.back()) +
                     ", first step " + std::to_string(s0));
        const TensorMap span_base = SpanBase(trainer->blocks()[k]);
        const WeightMap span_views = ViewsOf(span_base);
        std::vector<TensorMap> start;
        for (size_t b : group) start.push_back(states.at({s0, b}));
        auto r = BlockReplayer::CreateGroup(cfg, model_, trainer->blocks(), group, &span_views, std::move(start), s0,
                                            trainer->total_steps(), &data_);
        ASSERT_TRUE(r.ok()) << r.status().ToString();
        for (int64_t s = s0; s < s0 + kStepsPerBlock; ++s) {
          KeepAll produced;
          BlockEdges edges;
          size_t produced_count = 0;
          for (size_t b : group) {
            if (b > 0 && !held(b - 1)) edges.activations[b] = &seen.act.at({s, static_cast<int64_t>(b)});
            if (b + 1 < B && !held(b + 1)) edges.gradients[b] = &seen.grad.at({s, static_cast<int64_t>(b + 1)});
            produced_count += (b + 1 < B) + (b > 0 ? 1u : 0u);
          }
          auto rep = (*r)->RunStep(edges, seen.sumsq.at(s), &produced);
          ASSERT_TRUE(rep.ok()) << rep.status().ToString();
          const StepReport& want = reports[static_cast<size_t>(s)];
          EXPECT_EQ(rep->step.grad_norm, want.grad_norm);
          EXPECT_EQ(rep->step.learning_rate, want.learning_rate);
          EXPECT_EQ(rep->step.indices, want.indices);
          EXPECT_EQ(rep->step.tokens, want.tokens);
          if (held(B - 1)) {
            EXPECT_EQ(std::bit_cast<uint32_t>(rep->step.loss), std::bit_cast<uint32_t>(want.loss));
          }
          for (const auto& [name, v] : rep->grad_sumsq)
            EXPECT_EQ(std::bit_cast<uint64_t>(v), std::bit_cast<uint64_t>(seen.sumsq.at(s).at(name))) << name;
          EXPECT_FALSE(rep->grad_sumsq.empty());
          for (size_t b : group) {
            const auto b_in = static_cast<int64_t>(b), b_out = static_cast<int64_t>(b + 1);
            if (b + 1 < B) {
              const auto& got = produced.act.at({s, b_out});
              const auto& exp = seen.act.at({s, b_out});
              ASSERT_EQ(got.size(), exp.size());
              for (size_t m = 0; m < got.size(); ++m) EXPECT_TRUE(got[m].BitEqual(exp[m])) << "activation micro " << m;
            }
            if (b > 0) {
              const auto& got = produced.grad.at({s, b_in});
              const auto& exp = seen.grad.at({s, b_in});
              ASSERT_EQ(got.size(), exp.size());
              for (size_t m = 0; m < got.size(); ++m) EXPECT_TRUE(got[m].BitEqual(exp[m])) << "gradient micro " << m;
            }
          }
          EXPECT_EQ(produced.act.size() + produced.grad.size(), produced_count);
        }
        for (size_t b : group) {
          const TensorMap end = (*r)->State(b);
          const TensorMap& want = states.at({s0 + kStepsPerBlock, b});
          ASSERT_EQ(end.size(), want.size());
          for (const auto& [name, t] : want) EXPECT_TRUE(end.at(name).BitEqual(t)) << name;
        }
      }
    }
  }

  ModelConfig model_;
  TensorMap base_;
  TrainConfig cfg_;
  Dataset data_;
};

TEST_F(BlockReplayerTest, LoraCellsReproduceTheTrainerBitForBit) {
  for (int threads : {1, 3}) CheckEveryCell(cfg_, threads);
}

TEST_F(BlockReplayerTest, FullFineTuningCellsReproduceTheTrainerBitForBit) {
  TrainConfig full = cfg_;
  full.full_finetune = true;
  full.lora = LoraConfig{};
  full.learning_rate = 1e-3;
  CheckEveryCell(full, 2);
}

// The tied embedding: updated by the first block's lookup and the last
// block's head, which replay together; the middle block alone.
TEST_F(BlockReplayerTest, TiedFullFineTuningReplaysFirstAndLastBlocksTogether) {
  model_.tie_word_embeddings = true;
  base_ = InitModel(model_, 5);
  TrainConfig full = cfg_;
  full.full_finetune = true;
  full.lora = LoraConfig{};
  full.learning_rate = 1e-3;
  EXPECT_EQ(ReplayGroup(full, model_, 3, 0), (std::vector<size_t>{0, 2}));
  EXPECT_EQ(ReplayGroup(full, model_, 3, 2), (std::vector<size_t>{0, 2}));
  EXPECT_EQ(ReplayGroup(full, model_, 3, 1), (std::vector<size_t>{1}));
  EXPECT_EQ(ReplayGroup(full, model_, 1, 0), (std::vector<size_t>{0}));
  EXPECT_EQ(ReplayGroup(cfg_, model_, 3, 0), (std::vector<size_t>{0}));  // LoRA: the embedding is frozen
  CheckEveryCell(full, 2);

  auto trainer = Trainer::Create(full, model_, base_, &data_).value();
  auto alone = BlockReplayer::Create(full, model_, trainer->blocks(), 2, nullptr, BlockState(*trainer, 2), 0,
                                     trainer->total_steps(), &data_);
  ASSERT_FALSE(alone.ok());
  EXPECT_EQ(alone.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(alone.status().message().find("replays together with layer-blocks 0 and 2"), std::string::npos);
  // The head block's state does not hold the embedding; the first block's does.
  EXPECT_FALSE(BlockState(*trainer, 2).count(EmbeddingName()));
  EXPECT_TRUE(BlockState(*trainer, 0).count(EmbeddingName()));
}

TEST_F(BlockReplayerTest, AnotherStartStateGivesAnotherEndState) {
  // The comparison above can fail: a start state one ulp off ends elsewhere.
  auto trainer = Trainer::Create(cfg_, model_, base_, &data_).value();
  KeepAll seen;
  ASSERT_TRUE(trainer->RunStep(&seen).ok());
  TensorMap state = BlockState(*trainer, 0);
  ASSERT_TRUE(trainer->RunStep(&seen).ok());
  TensorMap bumped = state;
  Tensor& a = bumped.at(LoraAName(0, Proj::kQ));
  a[0] = std::nextafter(a[0], 1.0f);
  const TensorMap base0 = SpanBase(trainer->blocks()[0]);
  const WeightMap views0 = ViewsOf(base0);
  auto r = BlockReplayer::Create(cfg_, model_, trainer->blocks(), 0, &views0, bumped, 1,
                                 trainer->total_steps(), &data_).value();
  BlockEdges edges;
  edges.gradients[0] = &seen.grad.at({1, 1});
  ASSERT_TRUE(r->RunStep(edges, seen.sumsq.at(1), nullptr).ok());
  EXPECT_FALSE(r->State().at(LoraBName(0, Proj::kQ)).BitEqual(BlockState(*trainer, 0).at(LoraBName(0, Proj::kQ))));
}

TEST_F(BlockReplayerTest, RejectsAStateThatIsNotTheBlocks) {
  auto trainer = Trainer::Create(cfg_, model_, base_, &data_).value();
  const TensorMap base1 = SpanBase(trainer->blocks()[1]);
  const WeightMap views1 = ViewsOf(base1);
  TensorMap state = BlockState(*trainer, 1);
  state.erase(LoraBName(1, Proj::kV));
  auto r = BlockReplayer::Create(cfg_, model_, trainer->blocks(), 1, &views1, state, 0,
                                 trainer->total_steps(), &data_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kCorruption);
  EXPECT_NE(r.status().message().find(LoraBName(1, Proj::kV)), std::string::npos) << r.status().ToString();
  state = BlockState(*trainer, 1);
  state.erase(ExpAvgSqName(LoraAName(1, Proj::kQ)));
  r = BlockReplayer::Create(cfg_, model_, trainer->blocks(), 1, &views1, state, 0,
                            trainer->total_steps(), &data_);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("exp_avg_sq"), std::string::npos) << r.status().ToString();
}

}  // namespace
}  // namespace aftune
