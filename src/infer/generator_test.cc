// Generation is batch-invariant and replayable: a request's tokens and logits
// are bit-identical alone or batched with others, at any thread count, and
// equal those of one teacher-forced pass over prompt + output.
#include "infer/generator.h"

#include <gtest/gtest.h>

#include <cstring>

#include "model/tokenizer.h"
#include "model/model_init.h"
#include "model/weight_files.h"
#include "tensor/dtype.h"
#include "tensor/thread_pool.h"

namespace aftune {
namespace {

class GeneratorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cfg_ = PresetConfig("tiny").value();
    params_ = InitModel(cfg_, 21);
    decoder_ = Decoder::Create(cfg_, LoraConfig{}, WholeModel(cfg_), &params_).value();
  }
  void TearDown() override { SetDefaultThreads(DefaultThreadCount()); }

  Generator MakeGenerator() const {
    return Generator(*decoder_, {ByteTokenizer::kEos},
                     [](const std::vector<int32_t>& ids) { return ByteTokenizer().Decode(ids); });
  }
  static GenerationRequest Request(const std::string& prompt, float temperature, uint64_t seed, int64_t max_tokens) {
    GenerationRequest r;
    r.prompt = {ByteTokenizer::kBos};
    for (int32_t id : ByteTokenizer().Encode(prompt)) r.prompt.push_back(id);
    r.sampling.temperature = temperature;
    r.sampling.top_k = 40;
    r.sampling.top_p = 0.95f;
    r.sampling.seed = seed;
    r.max_tokens = max_tokens;
    return r;
  }

  ModelConfig cfg_;
  TensorMap params_;
  std::unique_ptr<Decoder> decoder_;
};

TEST_F(GeneratorTest, DecodeEqualsTeacherForcedPass) {
  Generator gen = MakeGenerator();
  for (float temperature : {0.0f, 0.7f, 1.3f}) {
    GenerationRequest r = Request("The audit grid", temperature, 5, 40);
    GenerationResult out = gen.Generate({r}, true)[0];
    ASSERT_FALSE(out.tokens.empty());
    Tensor replay_logits;
    std::vector<int32_t> choices = ReplayChoices(*decoder_, r, out.tokens, &replay_logits);
    EXPECT_EQ(choices, out.tokens) << "temperature " << temperature;
    EXPECT_TRUE(replay_logits.BitEqual(out.logits)) << "temperature " << temperature;
  }
}

// Penalties and biases depend on the tokens generated so far; a batch of
// penalised and plain requests still gives each its tokens alone, and the
// teacher-forced replay recomputes every choice.
TEST_F(GeneratorTest, PenalisedGenerationReplaysAndIsBatchInvariant) {
  Generator gen = MakeGenerator();
  GenerationRequest plain = Request("The audit grid", 0.0f, 5, 30);
  GenerationRequest penalised = plain;
  penalised.sampling.frequency_penalty = 2.0f;
  penalised.sampling.presence_penalty = 1.5f;
  GenerationRequest biased = Request("The audit grid", 0.9f, 8, 30);
  const GenerationResult first_plain = gen.Generate({plain})[0];
  biased.sampling.logit_bias = {{first_plain.tokens[0], -100.0f}, {'z', 3.0f}};
  const std::vector<GenerationRequest> requests = {plain, penalised, biased};
  std::vector<GenerationResult> together = gen.Generate(requests);
  for (size_t i = 0; i < requests.size(); ++i) {
    EXPECT_EQ(together[i].tokens, gen.Generate({requests[i]})[0].tokens) << i;
    EXPECT_EQ(ReplayChoices(*decoder_, requests[i], together[i].tokens, nullptr), together[i].tokens) << i;
  }
  EXPECT_NE(together[0].tokens, together[1].tokens);
  for (int32_t t : together[2].tokens) EXPECT_NE(t, first_plain.tokens[0]);
  // A replay without the penalties does not reproduce the penalised answer.
  EXPECT_NE(ReplayChoices(*decoder_, plain, together[1].tokens, nullptr), together[1].tokens);
}

// Generation ends on any of its end-of-sequence ids (Llama 3.1 has three).
TEST_F(GeneratorTest, StopsOnEveryEndOfSequenceId) {
  GenerationRequest r = Request("The audit grid", 0.0f, 5, 12);
  GenerationResult plain = MakeGenerator().Generate({r})[0];
  ASSERT_GE(plain.tokens.size(), 3u);
  ASSERT_NE(plain.tokens[2], ByteTokenizer::kEos);
  Generator more(*decoder_, {ByteTokenizer::kEos, plain.tokens[2]},
                 [](const std::vector<int32_t>& ids) { return ByteTokenizer().Decode(ids); });
  GenerationResult out = more.Generate({r})[0];
  // The same greedy tokens up to the first of them that is an end id.
  size_t first = 0;
  while (plain.tokens[first] != plain.tokens[2]) ++first;
  EXPECT_EQ(out.tokens, std::vector<int32_t>(plain.tokens.begin(), plain.tokens.begin() + first + 1));
  EXPECT_EQ(out.finish, FinishReason::kEos);
}

// A request cancelled mid-decode leaves the batch at once; the others get
// exactly what they get alone.
TEST_F(GeneratorTest, CancellingOneRequestChangesNoOther) {
  std::vector<GenerationRequest> reqs = {Request("ab", 1.0f, 1, 12), Request("xyz", 0.8f, 2, 12)};
  for (auto& r : reqs) r.stop.clear();
  Generator gen = MakeGenerator();
  std::vector<GenerationResult> alone = {gen.Generate({reqs[0]})[0], gen.Generate({reqs[1]})[0]};
  std::vector<GenerationResult> out =
      gen.Generate(reqs, false, [](size_t i, int32_t) { return i != 0; });  // cancel request 0 at its first token
  EXPECT_EQ(out[0].finish, FinishReason::kCancelled);
  EXPECT_EQ(out[0].tokens.size(), 1u);
  EXPECT_EQ(out[0].tokens[0], alone[0].tokens[0]);
  EXPECT_EQ(out[1].tokens, alone[1].tokens);
  EXPECT_STREQ(FinishReasonName(FinishReason::kCancelled), "cancelled");
}

TEST_F(GeneratorTest, BatchedEqualsAloneAtAnyThreadCount) {
  std::vector<GenerationRequest> reqs = {Request("a", 0.9f, 1, 30), Request("a longer prompt here", 0.0f, 2, 12),
                                         Request("mid-size prompt", 1.1f, 3, 25), Request("xyz", 0.8f, 4, 5)};
  SetDefaultThreads(1);
  std::vector<GenerationResult> alone;
  for (const auto& r : reqs) alone.push_back(MakeGenerator().Generate({r}, true)[0]);
  for (int threads : {1, 2, 3, 8}) {
    SetDefaultThreads(threads);
    std::vector<GenerationResult> batched = MakeGenerator().Generate(reqs, true);
    for (size_t i = 0; i < reqs.size(); ++i) {
      EXPECT_EQ(batched[i].tokens, alone[i].tokens) << i << " threads " << threads;
      EXPECT_TRUE(batched[i].logits.BitEqual(alone[i].logits)) << i << " threads " << threads;
    }
  }
}

TEST_F(GeneratorTest, Bf16ResidentWeightsEqualTheirWidenedF32) {
  // Served models keep bf16 weights as stored and widen them inside the
  // kernels; a decoder over f32 tensors holding the widened values must give
  // the same tokens and logits (prefill and every decode step).
  TensorMap widened;
  std::map<std::string, std::vector<uint16_t>> bits;
  WeightMap stored;
  for (const auto& [name, t] : params_) {
    std::vector<uint16_t>& b = bits[name];
    Tensor w(t.shape());
    for (int64_t i = 0; i < t.numel(); ++i) {
      b.push_back(F32ToBF16(t[i]));
      w[i] = BF16ToF32(b.back());
    }
    widened.emplace(name, std::move(w));
    stored.emplace(name, WeightView{DType::kBF16, t.shape(), b.data()});
  }
  auto f32 = Decoder::Create(cfg_, LoraConfig{}, WholeModel(cfg_), &widened).value();
  auto bf16 = Decoder::Create(cfg_, LoraConfig{}, WholeModel(cfg_), &stored, nullptr).value();
  auto text = [](const std::vector<int32_t>& ids) { return ByteTokenizer().Decode(ids); };
  Generator a_gen(*f32, {ByteTokenizer::kEos}, text), b_gen(*bf16, {ByteTokenizer::kEos}, text);
  std::vector<GenerationRequest> reqs = {Request("one", 0.8f, 1, 20), Request("two two", 0.0f, 2, 20),
                                         Request("three", 1.0f, 3, 12)};
  for (int threads : {1, 2}) {
    SetDefaultThreads(threads);
    auto a = a_gen.Generate(reqs, true), b = b_gen.Generate(reqs, true);
    for (size_t i = 0; i < reqs.size(); ++i) {
      EXPECT_EQ(a[i].tokens, b[i].tokens) << i << " threads " << threads;
      EXPECT_TRUE(a[i].logits.BitEqual(b[i].logits)) << i << " threads " << threads;
    }
  }
}

TEST_F(GeneratorTest, ChangedSamplingParametersChangeTheReplay) {
  // The audit relies on this: tokens sampled with one temperature are not what
  // the sampler picks under another, somewhere along a long enough output.
  GenerationRequest r = Request("Quick brown", 1.0f, 9, 60);
  GenerationResult out = MakeGenerator().Generate({r})[0];
  GenerationRequest other = r;
  other.sampling.temperature = 0.5f;
  EXPECT_NE(ReplayChoices(*decoder_, other, out.tokens, nullptr), out.tokens);
  other = r;
  other.sampling.seed = 10;
  EXPECT_NE(ReplayChoices(*decoder_, other, out.tokens, nullptr), out.tokens);
}

TEST_F(GeneratorTest, StopsAtMaxTokensEosOrStopString) {
  Generator gen = MakeGenerator();
  GenerationResult out = gen.Generate({Request("hello", 1.0f, 3, 7)})[0];
  if (out.finish == FinishReason::kLength) {
    EXPECT_EQ(out.tokens.size(), 7u);
  }
  // A stop string made of the first generated byte ends generation right there.
  GenerationRequest r = Request("hello", 0.0f, 0, 20);
  GenerationResult greedy = gen.Generate({r})[0];
  ASSERT_FALSE(greedy.tokens.empty());
  if (greedy.tokens[0] < 256) {
    r.stop = {std::string(1, static_cast<char>(greedy.tokens[0]))};
    GenerationResult stopped = gen.Generate({r})[0];
    EXPECT_EQ(stopped.finish, FinishReason::kStop);
    EXPECT_EQ(stopped.tokens.size(), 1u);
    EXPECT_EQ(stopped.text, "");
  }
}

TEST_F(GeneratorTest, ValidateRejectsBadRequests) {
  Generator gen = MakeGenerator();
  GenerationRequest r = Request("x", 1.0f, 0, 4);
  EXPECT_TRUE(gen.Validate(r).ok());
  GenerationRequest bad = r;
  bad.max_tokens = 0;
  EXPECT_NE(gen.Validate(bad).message().find("max_tokens"), std::string::npos);
  bad = r;
  bad.max_tokens = cfg_.max_position_embeddings;
  EXPECT_NE(gen.Validate(bad).message().find("context"), std::string::npos);
  bad = r;
  bad.sampling.top_p = 0.0f;
  EXPECT_NE(gen.Validate(bad).message().find("top_p"), std::string::npos);
  bad = r;
  bad.prompt.push_back(1000);
  EXPECT_NE(gen.Validate(bad).message().find("1000"), std::string::npos);
}

}  // namespace
}  // namespace aftune
