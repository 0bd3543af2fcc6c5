// Determinism is a feature: logits and every gradient are bit-identical across
// thread counts, repeated runs, batch composition and layer-block partitions.
// (Across instruction sets: tests/isa_determinism.sh.)
#include <gtest/gtest.h>

#include <cstring>

#include "model/model_dir.h"
#include "model/test_util.h"
#include "tensor/thread_pool.h"

namespace aftune {
namespace {

struct RunResult {
  Tensor logits;
  float loss = 0;
  TensorMap grads;
};

struct Fixture {
  ModelConfig cfg = testing::TestConfig(64, 4, 2, 16, 4, false);
  LoraConfig lora;
  TensorMap params;
  explicit Fixture(bool with_lora, bool tied = false) {
    cfg.tie_word_embeddings = tied;
    params = InitModel(cfg, 3);
    if (with_lora) {
      lora.r = 4;
      lora.lora_alpha = 16;
      lora.target_modules = {Proj::kQ, Proj::kV, Proj::kDown};
      params.merge(testing::RandomLora(cfg, lora, 9));
    }
  }
  RunResult Run(const PackedBatch& batch) const {
    auto d = Decoder::Create(cfg, lora, WholeModel(cfg), &params);
    AFTUNE_CHECK(d.ok());
    Activations acts;
    (*d)->Forward(batch, nullptr, true, &acts);
    RunResult r{acts.logits, acts.loss.loss, testing::ZeroGrads(params, lora.enabled())};
    (*d)->Backward(batch, nullptr, &acts, &r.grads, nullptr);
    return r;
  }
};

void ExpectBitEqual(const RunResult& a, const RunResult& b) {
  EXPECT_TRUE(a.logits.BitEqual(b.logits));
  EXPECT_EQ(std::memcmp(&a.loss, &b.loss, 4), 0);
  ASSERT_EQ(a.grads.size(), b.grads.size());
  for (const auto& [name, g] : a.grads) EXPECT_TRUE(g.BitEqual(b.grads.at(name))) << name;
}

class DeterminismTest : public ::testing::TestWithParam<bool> {
 protected:
  void TearDown() override { SetDefaultThreads(DefaultThreadCount()); }
};

TEST_P(DeterminismTest, ThreadCountsAndRepeatedRuns) {
  Fixture f(GetParam());
  PackedBatch batch = testing::BatchWithIgnored(testing::RandomSequences({17, 5, 33, 2}, f.cfg.vocab_size, 2));
  SetDefaultThreads(1);
  RunResult base = f.Run(batch);
  for (int threads : {1, 2, 3, 8}) {
    SetDefaultThreads(threads);
    ExpectBitEqual(base, f.Run(batch));
  }
}

// A sequence alone and inside a batch with others of other lengths: same logits
// bit for bit, and (the others carrying no loss) the same gradients.
TEST_P(DeterminismTest, BatchComposition) {
  Fixture f(GetParam());
  auto seqs = testing::RandomSequences({21, 9, 40, 3}, f.cfg.vocab_size, 3);
  PackedBatch alone = testing::BatchWithIgnored({seqs[0]});
  RunResult a = f.Run(alone);
  for (int where : {0, 1, 3}) {
    std::vector<std::vector<int32_t>> mixed = {seqs[1], seqs[2], seqs[3]};
    mixed.insert(mixed.begin() + where, seqs[0]);
    PackedBatch b = MakeLmBatch(mixed);
    for (int64_t s = 0; s < b.num_sequences(); ++s) {
      for (int64_t n = b.starts[s]; n < b.starts[s + 1]; ++n) {
        int64_t k = n - b.starts[s];
        b.targets[n] = s == where ? alone.targets[k] : kIgnoreIndex;
      }
    }
    RunResult r = f.Run(b);
    const int64_t V = f.cfg.vocab_size, off = b.starts[where];
    EXPECT_EQ(std::memcmp(a.logits.data(), r.logits.data() + off * V, a.logits.numel() * 4), 0) << where;
    EXPECT_EQ(std::memcmp(&a.loss, &r.loss, 4), 0);
    for (const auto& [name, g] : a.grads) EXPECT_TRUE(g.BitEqual(r.grads.at(name))) << name << " at " << where;
  }
}

INSTANTIATE_TEST_SUITE_P(FullAndLora, DeterminismTest, ::testing::Values(false, true),
                         [](const auto& param_info) { return param_info.param ? "lora" : "full"; });

// The model run as layer-blocks, each loaded alone from disk, chained forward
// and backward, gives the whole-model results bit for bit.
class BlockwiseTest : public ::testing::TestWithParam<std::tuple<bool, bool>> {};

TEST_P(BlockwiseTest, MatchesWholeModel) {
  auto [with_lora, tied] = GetParam();
  Fixture f(with_lora, tied);
  std::string dir = testing::TempDir(std::string("blockwise") + (with_lora ? "l" : "f") + (tied ? "t" : "u"));
  TensorMap base;
  for (const auto& [n, t] : f.params)
    if (n.find(".lora_") == std::string::npos) base.emplace(n, t);
  ASSERT_TRUE(SaveModelDir(dir, f.cfg, base).ok());
  PackedBatch batch = testing::BatchWithIgnored(testing::RandomSequences({12, 7, 19}, f.cfg.vocab_size, 4));
  RunResult whole = f.Run(batch);

  for (std::vector<int64_t> cuts : {std::vector<int64_t>{0, 2, 4}, {0, 1, 3, 4}, {0, 1, 2, 3, 4}}) {
    struct Block {
      TensorMap params;
      std::unique_ptr<Decoder> decoder;
      Activations acts;
    };
    std::vector<Block> blocks(cuts.size() - 1);
    RunResult r{Tensor(), 0, testing::ZeroGrads(f.params, with_lora)};
    for (size_t i = 0; i + 1 < cuts.size(); ++i) {
      LayerSpan span{cuts[i], cuts[i + 1]};
      auto loaded = LoadModelDir(dir, span);
      ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
      blocks[i].params = std::move(loaded->params);
      if (with_lora) blocks[i].params.merge(InitLora(f.cfg, f.lora, span, 0));
      for (auto& [n, t] : blocks[i].params)
        if (n.find(".lora_") != std::string::npos) t = f.params.at(n);
      auto d = Decoder::Create(f.cfg, f.lora, span, &blocks[i].params);
      ASSERT_TRUE(d.ok()) << d.status().ToString();
      blocks[i].decoder = std::move(*d);
      const Tensor* x_in = i == 0 ? nullptr : &blocks[i - 1].acts.output();
      blocks[i].decoder->Forward(batch, x_in, true, &blocks[i].acts);
    }
    r.logits = blocks.back().acts.logits;
    r.loss = blocks.back().acts.loss.loss;
    Tensor d_out;
    for (size_t i = blocks.size(); i-- > 0;) {
      Tensor d_in;
      blocks[i].decoder->Backward(batch, i + 1 == blocks.size() ? nullptr : &d_out, &blocks[i].acts, &r.grads,
                                  i == 0 ? nullptr : &d_in);
      d_out = std::move(d_in);
    }
    ExpectBitEqual(whole, r);
  }
}

INSTANTIATE_TEST_SUITE_P(Variants, BlockwiseTest,
                         ::testing::Combine(::testing::Bool(), ::testing::Bool()),
                         [](const auto& param_info) {
                           return std::string(std::get<0>(param_info.param) ? "lora" : "full") +
                                  (std::get<1>(param_info.param) ? "_tied" : "_untied");
                         });

}  // namespace
}  // namespace aftune
