// Determinism is a feature: logits and every gradient are bit-identical across
// thread counts, repeated runs, batch composition and layer-block partitions,
// and the KV-cache path gives Forward's rows bit for bit; for plain LLaMA and
// each architecture feature (biases, q/k norms, sliding window, RoPE
// scaling). (Across instruction sets: tests/isa_determinism.sh.)
#include <gtest/gtest.h>

#include <cstring>

#include "model/model_dir.h"
#include "model/test_util.h"
#include "tensor/dtype.h"
#include "tensor/thread_pool.h"

namespace aftune {
namespace {

struct RunResult {
  Tensor logits;
  float loss = 0;
  TensorMap grads;
};

// A model variant: plain LLaMA (4 layers, GQA) or one of the architecture
// cases, full fine-tuning or LoRA.
struct Variant {
  std::string name;
  ModelConfig cfg;
  bool lora;
};

std::vector<Variant> Variants(bool with_tied) {
  std::vector<Variant> out;
  for (bool tied : {false, true}) {
    if (tied && !with_tied) continue;
    ModelConfig c = testing::TestConfig(64, 4, 2, 16, 4, tied);
    for (bool lora : {false, true})
      out.push_back({std::string(lora ? "lora" : "full") + (with_tied ? (tied ? "_tied" : "_untied") : ""), c, lora});
  }
  for (const testing::ArchCase& a : testing::ArchitectureCases(4)) {
    for (bool lora : {false, true}) out.push_back({std::string(a.name) + (lora ? "_lora" : "_full"), a.cfg, lora});
  }
  return out;
}

void PrintTo(const Variant& v, std::ostream* os) { *os << v.name; }

std::string VariantName(const ::testing::TestParamInfo<Variant>& info) { return info.param.name; }

struct Fixture {
  ModelConfig cfg;
  LoraConfig lora;
  TensorMap params;
  explicit Fixture(const Variant& v) : cfg(v.cfg) {
    params = InitModel(cfg, 3);
    testing::RandomizeBiasesAndQkNorms(params, 5);
    if (v.lora) {
      lora.r = 4;
      lora.lora_alpha = 16;
      lora.target_modules = {Proj::kQ, Proj::kV, Proj::kDown};
      params.merge(testing::RandomLora(cfg, lora, 9));
    }
  }
  std::unique_ptr<Decoder> Make() const {
    auto d = Decoder::Create(cfg, lora, WholeModel(cfg), &params);
    AFTUNE_CHECK(d.ok());
    return std::move(*d);
  }
  RunResult Run(const PackedBatch& batch) const {
    auto d = Make();
    Activations acts;
    d->Forward(batch, nullptr, true, &acts);
    RunResult r{acts.logits, acts.loss.loss, testing::ZeroGrads(params, lora.enabled())};
    d->Backward(batch, nullptr, &acts, &r.grads, nullptr);
    return r;
  }
};

void ExpectBitEqual(const RunResult& a, const RunResult& b) {
  EXPECT_TRUE(a.logits.BitEqual(b.logits));
  EXPECT_EQ(std::memcmp(&a.loss, &b.loss, 4), 0);
  ASSERT_EQ(a.grads.size(), b.grads.size());
  for (const auto& [name, g] : a.grads) EXPECT_TRUE(g.BitEqual(b.grads.at(name))) << name;
}

class DeterminismTest : public ::testing::TestWithParam<Variant> {
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

// Prefill in chunks, then decode one token at a time, two sequences sharing
// each batch while both have tokens left: every row's logits equal the
// teacher-forced Forward's bit for bit (the window's band included: the
// sequences are longer than it).
TEST_P(DeterminismTest, KvCacheRowsEqualForward) {
  Fixture f(GetParam());
  auto seqs = testing::RandomSequences({13, 9}, f.cfg.vocab_size, 5);
  PackedBatch whole;
  for (const auto& s : seqs) whole.Add(s, {});
  auto d = f.Make();
  Activations ref;
  d->Forward(whole, nullptr, false, &ref);
  const int64_t V = f.cfg.vocab_size;

  std::vector<KvCache> caches, last_caches;  // the latter for last_rows_only
  for (const auto& s : seqs) {
    caches.emplace_back(f.cfg, WholeModel(f.cfg), static_cast<int64_t>(s.size()));
    last_caches.emplace_back(f.cfg, WholeModel(f.cfg), static_cast<int64_t>(s.size()));
  }
  std::vector<size_t> done(seqs.size(), 0);
  for (size_t chunk : {5, 1, 2, 1, 1, 1, 1, 1, 1, 1, 1}) {
    PackedBatch b;
    b.starts = {0};
    std::vector<KvCache*> ptrs, last_ptrs;
    std::vector<std::pair<size_t, size_t>> rows;  // (sequence, first position) per batch sequence
    for (size_t s = 0; s < seqs.size(); ++s) {
      const size_t n = std::min(chunk, seqs[s].size() - done[s]);
      if (n == 0) continue;
      for (size_t i = done[s]; i < done[s] + n; ++i) {
        b.tokens.push_back(seqs[s][i]);
        b.positions.push_back(static_cast<int32_t>(i));
      }
      b.starts.push_back(b.num_tokens());
      ptrs.push_back(&caches[s]);
      last_ptrs.push_back(&last_caches[s]);
      rows.push_back({s, done[s]});
      done[s] += n;
    }
    if (ptrs.empty()) break;
    Activations acts, last;
    d->ForwardCached(b, ptrs, &acts);
    d->ForwardCached(b, last_ptrs, &last, true);
    ASSERT_EQ(last.logits.dim(0), static_cast<int64_t>(rows.size()));
    for (size_t k = 0; k < rows.size(); ++k) {
      const auto [s, first] = rows[k];
      EXPECT_EQ(std::memcmp(last.logits.data() + k * V, acts.logits.data() + (b.starts[k + 1] - 1) * V, V * 4), 0)
          << "last row of sequence " << s;
      for (int64_t n = b.starts[k]; n < b.starts[k + 1]; ++n) {
        const int64_t row = whole.starts[s] + static_cast<int64_t>(first) + (n - b.starts[k]);
        EXPECT_EQ(std::memcmp(acts.logits.data() + n * V, ref.logits.data() + row * V, V * 4), 0)
            << "sequence " << s << " position " << b.positions[n];
      }
    }
  }
  for (size_t s = 0; s < seqs.size(); ++s) EXPECT_EQ(done[s], seqs[s].size());
}

INSTANTIATE_TEST_SUITE_P(Models, DeterminismTest, ::testing::ValuesIn(Variants(false)), VariantName);

// The model run as layer-blocks, each loaded alone from disk, chained forward
// and backward, gives the whole-model results bit for bit.
class BlockwiseTest : public ::testing::TestWithParam<Variant> {};

TEST_P(BlockwiseTest, MatchesWholeModel) {
  const bool with_lora = GetParam().lora;
  Fixture f(GetParam());
  std::string dir = testing::TempDir("blockwise-" + GetParam().name);
  TensorMap base;
  for (const auto& [n, t] : f.params)
    if (n.find(".lora_") == std::string::npos) base.emplace(n, t);
  ASSERT_TRUE(SaveModelDir(dir, f.cfg, base).ok());
  PackedBatch batch = testing::BatchWithIgnored(testing::RandomSequences({12, 7, 19}, f.cfg.vocab_size, 4));
  RunResult whole = f.Run(batch);

  for (std::vector<int64_t> cuts : {std::vector<int64_t>{0, 2, 4}, {0, 1, 3, 4}, {0, 1, 2, 3, 4}}) {
    struct Block {
      LoadedModel base;  // viewed in place from the files
      TensorMap adapter;
      std::unique_ptr<Decoder> decoder;
      Activations acts;
    };
    std::vector<Block> blocks(cuts.size() - 1);
    RunResult r{Tensor(), 0, testing::ZeroGrads(f.params, with_lora)};
    for (size_t i = 0; i + 1 < cuts.size(); ++i) {
      LayerSpan span{cuts[i], cuts[i + 1]};
      auto loaded = LoadModelDir(dir, span);
      ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
      blocks[i].base = std::move(*loaded);
      if (with_lora) blocks[i].adapter = InitLora(f.cfg, f.lora, span, 0);
      for (auto& [n, t] : blocks[i].adapter) t = f.params.at(n);
      auto d = Decoder::Create(f.cfg, f.lora, span, &blocks[i].base.params, &blocks[i].adapter);
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

INSTANTIATE_TEST_SUITE_P(Models, BlockwiseTest, ::testing::ValuesIn(Variants(true)), VariantName);

// A bf16 checkpoint stays bf16 in memory (mapped, widened inside the
// kernels): its logits, loss and every gradient are those of f32 tensors
// holding the widened values, bit for bit, whole or as a layer-block.
class StoredBf16Test : public ::testing::TestWithParam<Variant> {};

TEST_P(StoredBf16Test, MatchesWidenedF32) {
  Fixture f(GetParam());
  TensorMap base;
  for (auto& [n, t] : f.params) {
    if (n.find(".lora_") != std::string::npos) continue;
    for (int64_t i = 0; i < t.numel(); ++i) t[i] = BF16ToF32(F32ToBF16(t[i]));  // representable in bf16
    base.emplace(n, t);
  }
  ModelConfig stored_cfg = f.cfg;
  stored_cfg.torch_dtype = "bfloat16";
  const std::string dir = testing::TempDir("bf16-" + GetParam().name);
  ASSERT_TRUE(SaveModelDir(dir, stored_cfg, base).ok());
  PackedBatch batch = testing::BatchWithIgnored(testing::RandomSequences({12, 7, 19}, f.cfg.vocab_size, 4));
  const RunResult widened = f.Run(batch);

  const LoadedModel m = LoadModelDir(dir).value();
  for (const auto& [n, v] : m.params) EXPECT_EQ(v.dtype, DType::kBF16) << n;
  TensorMap adapter;
  for (const auto& [n, t] : f.params)
    if (n.find(".lora_") != std::string::npos) adapter.emplace(n, t);
  auto d = Decoder::Create(stored_cfg, f.lora, WholeModel(f.cfg), &m.params, &adapter).value();
  Activations acts;
  d->Forward(batch, nullptr, true, &acts);
  RunResult r{acts.logits, acts.loss.loss, testing::ZeroGrads(f.params, f.lora.enabled())};
  d->Backward(batch, nullptr, &acts, &r.grads, nullptr);
  ExpectBitEqual(widened, r);
}

INSTANTIATE_TEST_SUITE_P(Models, StoredBf16Test, ::testing::ValuesIn(Variants(true)), VariantName);

}  // namespace
}  // namespace aftune
