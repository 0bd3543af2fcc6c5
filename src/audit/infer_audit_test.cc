#include "audit/infer_audit.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

#include "serve/local_log_view.h"
#include "serve/serve_test_util.h"

namespace aftune {
namespace {

using testing::ServedFixture;

// A served fixture, the bundles of a few honest completions, and the
// auditor's inputs over them.
class InferAuditTest : public ::testing::Test {
 protected:
  InferAuditTest() : f_("infer-audit"), view_(*f_.log) {
    for (int k = 0; k < 6; ++k) bundles_.push_back(Complete("ab " + std::to_string(k), k));
  }

  ReceiptBundle Complete(const std::string& prompt, int seed, const nlohmann::json& extra = nlohmann::json::object()) {
    nlohmann::json body = {{"model", "tiny"}, {"prompt", prompt}, {"max_tokens", 6}, {"temperature", 0.8},
                           {"seed", seed}};
    body.update(extra);
    HttpReply reply = f_.service->Handle(ApiEndpoint::kCompletions, body.dump());
    EXPECT_EQ(reply.status, 200) << reply.body;
    Result<ReceiptBundle> b = ReceiptBundleFromJson(nlohmann::json::parse(reply.body)["aftune_receipt"]);
    EXPECT_TRUE(b.ok()) << b.status().ToString();
    return *b;
  }

  // `b` with its tokens replaced and a receipt signed over them (and b's
  // logprobs, when it has them), appended to `log` as the provider would: a
  // self-consistent dishonest answer.
  ReceiptBundle Resign(ReceiptBundle b, std::vector<int32_t> tokens, ReceiptLog& log) {
    Receipt r = *ParseReceiptText(*UnverifiedNoteText(b.receipt));
    r.response = BlindDigest(b.salt, ResponseDigest(tokens, b.request.logprobs >= 0 ? &b.completion_logprobs : nullptr));
    AppendedLeaves a = *log.Append(1, [&](uint64_t index) {
      r.index = index;
      return SignReceipt(r, f_.key);
    });
    b.log_index = a.first_index;
    b.receipt = SignReceipt(r, f_.key);
    b.checkpoint = a.checkpoint;
    b.completion_tokens = std::move(tokens);
    return b;
  }

  InferAuditInputs Inputs() {
    InferAuditInputs in;
    in.model = f_.model.get();
    in.model_digest = f_.identity.model;
    in.provider = f_.key.public_key();
    in.receipts = bundles_;
    in.log = &view_;
    return in;
  }

  InferAuditReport Audit(const InferAuditInputs& in, int64_t samples = 100) {
    Result<InferAuditReport> r = AuditInference(in, {samples, {0x01, 0x02}});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : InferAuditReport{};
  }

  // The names of the failed checks, sorted.
  static std::vector<std::string> Failed(const InferAuditReport& r) {
    std::vector<std::string> out;
    for (const AuditCheck& c : r.checks)
      if (!c.passed) out.push_back(c.check);
    return Names(out);
  }
  static std::vector<std::string> Names(std::vector<std::string> names) {
    std::sort(names.begin(), names.end());
    return names;
  }

  ServedFixture f_;
  LocalLogView view_;
  std::vector<ReceiptBundle> bundles_;
};

TEST_F(InferAuditTest, HonestReceiptsPass) {
  const InferAuditReport r = Audit(Inputs());
  EXPECT_TRUE(r.passed()) << InferReportSummary(r);
  EXPECT_EQ(r.sampled.size(), 6u);
  const nlohmann::json j = InferReportJson(r);
  EXPECT_EQ(j["verdict"], "pass");
  EXPECT_EQ(j["checks"].size(), 10u);  // no receipt.commitment: none named
  EXPECT_EQ(j["seed_checkpoint"]["size"], 6);
  EXPECT_EQ(j["nonce"], "0102");
  EXPECT_NE(InferReportHtml(r).find("PASS"), std::string::npos);
}

TEST_F(InferAuditTest, TheDrawDependsOnTheNonceAndIsReproducible) {
  const InferAuditInputs in = Inputs();
  auto draw = [&](std::vector<uint8_t> nonce) {
    std::vector<uint64_t> out;
    const InferAuditReport r = AuditInference(in, {3, nonce}).value();
    for (const SampledReceipt& s : r.sampled) out.push_back(s.log_index);
    return out;
  };
  EXPECT_EQ(draw({7}), draw({7}));
  EXPECT_EQ(draw({7}).size(), 3u);
  bool differs = false;
  for (uint8_t n = 8; n < 16 && !differs; ++n) differs = draw({n}) != draw({7});
  EXPECT_TRUE(differs);
}

TEST_F(InferAuditTest, AnOutputEditedAfterSigningFailsItsDigest) {
  InferAuditInputs in = Inputs();
  in.receipts[2].completion_tokens[0] ^= 1;
  EXPECT_EQ(Failed(Audit(in)), Names({"receipt.digests", "reexec.tokens"}));
}

TEST_F(InferAuditTest, AnOutputTheProviderSignedFailsReexecution) {
  std::vector<int32_t> edited = bundles_[1].completion_tokens;
  edited[0] = edited[0] == 65 ? 66 : 65;
  bundles_.push_back(Resign(bundles_[1], edited, *f_.log));
  EXPECT_EQ(Failed(Audit(Inputs())), Names({"reexec.tokens"}));
}

// Penalties and biases are bound in the request and replayed: honest
// penalised answers pass; the plain answer under a penalised request fails.
TEST_F(InferAuditTest, PenaltiesAndBiasesAreReplayed) {
  const ReceiptBundle plain = Complete("ab ab", 4, {{"temperature", 0}});
  const nlohmann::json penalties = {{"temperature", 0},
                                    {"frequency_penalty", 1.5},
                                    {"presence_penalty", -0.5},
                                    {"logit_bias", {{std::to_string(plain.completion_tokens[0]), -100}}}};
  const ReceiptBundle penalised = Complete("ab ab", 4, penalties);
  ASSERT_NE(penalised.completion_tokens, plain.completion_tokens);
  bundles_.push_back(penalised);
  bundles_.push_back(Complete("ab ab", 4, {{"temperature", 1.1}, {"frequency_penalty", 2}, {"logit_bias", {{"97", 5}}}}));
  EXPECT_TRUE(Audit(Inputs()).passed());
  bundles_.push_back(Resign(penalised, plain.completion_tokens, *f_.log));
  EXPECT_EQ(Failed(Audit(Inputs())), Names({"reexec.tokens"}));
}

// Each choice of an n > 1 request is receipted and replayed with its own
// Philox stream; an answer passed off as another choice fails re-execution.
TEST_F(InferAuditTest, EveryChoiceIsReplayedWithItsOwnStream) {
  nlohmann::json body = {{"model", "tiny"}, {"prompt", {"ab", "c"}}, {"max_tokens", 6}, {"temperature", 1.2},
                         {"seed", 1}, {"n", 3}};
  HttpReply reply = f_.service->Handle(ApiEndpoint::kCompletions, body.dump());
  ASSERT_EQ(reply.status, 200) << reply.body;
  const nlohmann::json j = nlohmann::json::parse(reply.body);
  ASSERT_EQ(j["choices"].size(), 6u);
  for (const nlohmann::json& c : j["choices"]) bundles_.push_back(*ReceiptBundleFromJson(c["aftune_receipt"]));
  EXPECT_TRUE(Audit(Inputs()).passed());
  const ReceiptBundle& choice1 = bundles_[bundles_.size() - 5];
  ASSERT_EQ(choice1.request.generation.sampling.choice, 1u);
  ReceiptBundle relabelled = choice1;
  relabelled.completion_tokens = bundles_[bundles_.size() - 6].completion_tokens;  // choice 0's answer
  ASSERT_NE(relabelled.completion_tokens, choice1.completion_tokens);
  bundles_.push_back(Resign(relabelled, relabelled.completion_tokens, *f_.log));
  EXPECT_EQ(Failed(Audit(Inputs())), Names({"reexec.tokens"}));
}

// Logprobs are bound in the response digest and recomputed from the replay:
// honest ones pass; one altered after signing fails its digest, one the
// provider signed fails re-execution, by the last bit.
TEST_F(InferAuditTest, LogprobsAreRecomputedBitForBit) {
  const ReceiptBundle with = Complete("ab ab", 6, {{"logprobs", 3}, {"frequency_penalty", 0.5}});
  ASSERT_EQ(with.completion_logprobs.size(), with.completion_tokens.size());
  bundles_.push_back(with);
  const InferAuditReport honest = Audit(Inputs());
  EXPECT_TRUE(honest.passed()) << InferReportSummary(honest);
  const auto check = std::find_if(honest.checks.begin(), honest.checks.end(),
                                  [](const AuditCheck& c) { return c.check == "reexec.logprobs"; });
  ASSERT_NE(check, honest.checks.end());
  EXPECT_EQ(check->evidence["compared"], with.completion_tokens.size());

  InferAuditInputs edited = Inputs();
  edited.receipts.back().completion_logprobs[1].chosen =
      std::nextafter(with.completion_logprobs[1].chosen, 0.0f);  // one ulp
  EXPECT_EQ(Failed(Audit(edited)), Names({"receipt.digests", "reexec.logprobs"}));

  ReceiptBundle lie = with;
  lie.completion_logprobs[0].top[2].logprob = std::nextafter(lie.completion_logprobs[0].top[2].logprob, 0.0f);
  bundles_.push_back(Resign(lie, lie.completion_tokens, *f_.log));
  EXPECT_EQ(Failed(Audit(Inputs())), Names({"reexec.logprobs"}));
  bundles_.pop_back();
  lie = with;
  std::swap(lie.completion_logprobs[0].top[0], lie.completion_logprobs[0].top[1]);  // the order is bound
  bundles_.push_back(Resign(lie, lie.completion_tokens, *f_.log));
  EXPECT_EQ(Failed(Audit(Inputs())), Names({"reexec.logprobs"}));
}

TEST_F(InferAuditTest, AnEditedReceiptFailsItsSignature) {
  InferAuditInputs in = Inputs();
  std::string& note = in.receipts[3].receipt;
  const size_t at = note.find("response ") + 9;
  note[at] = note[at] == '0' ? '1' : '0';
  EXPECT_EQ(Failed(Audit(in)), Names({"receipt.digests", "receipt.signature", "receipt.inclusion"}));
}

TEST_F(InferAuditTest, AnotherKeyFailsEverySignature) {
  InferAuditInputs in = Inputs();
  Ed25519Seed seed{};
  seed[0] = 7;
  in.provider = PrivateKey::FromSeed("provider.example", seed)->public_key();
  EXPECT_EQ(Failed(Audit(in)), Names({"receipt.signature", "checkpoint.signature"}));
}

TEST_F(InferAuditTest, AnotherModelFailsTheModelDigest) {
  InferAuditInputs in = Inputs();
  in.model_digest = Sha256Of(std::string_view("another model"));
  EXPECT_EQ(Failed(Audit(in)), Names({"receipt.model"}));
}

TEST_F(InferAuditTest, AReceiptLeftOutOfTheLogFailsInclusion) {
  // The provider signs a receipt for the next index but logs another leaf
  // there, then hands out the log's honest checkpoint.
  ReceiptBundle dropped = bundles_[0];
  Receipt r = *ParseReceiptText(*UnverifiedNoteText(dropped.receipt));
  AppendedLeaves a = *f_.log->Append(1, [&](uint64_t index) {
    r.index = index;
    dropped.receipt = SignReceipt(r, f_.key);
    Receipt other = r;
    other.response = Sha256Of(std::string_view("another answer"));
    return SignReceipt(other, f_.key);
  });
  dropped.log_index = a.first_index;
  dropped.checkpoint = a.checkpoint;
  bundles_.push_back(dropped);
  EXPECT_EQ(Failed(Audit(Inputs())), Names({"receipt.inclusion"}));
}

TEST_F(InferAuditTest, AForkedLogFailsConsistency) {
  // A second log under the same key, shown to the client for one answer.
  Result<std::unique_ptr<ReceiptLog>> fork = ReceiptLog::Open(f_.dir + "/fork.db", f_.key);
  ASSERT_TRUE(fork.ok());
  for (int k = 0; k < 7; ++k) Resign(bundles_[0], bundles_[0].completion_tokens, **fork);
  bundles_.push_back(Resign(bundles_[1], bundles_[1].completion_tokens, **fork));
  EXPECT_EQ(Failed(Audit(Inputs())), Names({"log.consistency", "receipt.inclusion"}));
}

TEST_F(InferAuditTest, NoReceiptsCannotBeAudited) {
  InferAuditInputs in = Inputs();
  in.receipts.clear();
  EXPECT_EQ(AuditInference(in, {1, {1}}).status().code(), Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace aftune
