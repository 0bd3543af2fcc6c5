// The inference formats against tests/vectors/receipt.json, written by an
// independent Python implementation (tests/vectors/make_receipt_vector.py).
#include "protocol/receipt.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "commit/key.h"
#include "commit/test_vectors.h"
#include "protocol/request.h"

namespace aftune {
namespace {

using testing::Bytes;
using testing::H;

InferenceRequest RequestFromJson(const nlohmann::json& j) {
  InferenceRequest r;
  r.model = j["model"].get<std::string>();
  for (const auto& t : j["prompt"]) r.generation.prompt.push_back(t.get<int32_t>());
  r.generation.max_tokens = j["max_tokens"].get<int64_t>();
  r.generation.sampling.temperature = j["temperature"].get<float>();
  r.generation.sampling.top_p = j["top_p"].get<float>();
  r.generation.sampling.top_k = j["top_k"].get<int64_t>();
  r.generation.sampling.seed = j["seed"].get<uint64_t>();
  for (const auto& s : j["stop"]) r.generation.stop.push_back(s.get<std::string>());
  SamplingParams& p = r.generation.sampling;
  p.presence_penalty = j["presence_penalty"].get<float>();
  p.frequency_penalty = j["frequency_penalty"].get<float>();
  for (const auto& [id, bias] : j["logit_bias"].items()) p.logit_bias.emplace_back(std::stoi(id), bias.get<float>());
  std::sort(p.logit_bias.begin(), p.logit_bias.end());
  p.choice = j["choice"].get<uint32_t>();
  r.logprobs = j["logprobs"].is_null() ? -1 : j["logprobs"].get<int64_t>();
  return r;
}

PrivateKey ProviderKey(const nlohmann::json& v) {
  Result<PrivateKey> k = ParsePrivateKey(v["provider_private_file"].get<std::string>());
  EXPECT_TRUE(k.ok()) << k.status().ToString();
  return std::move(k).value();
}

TEST(Request, EncodingAndDigestMatchVectors) {
  nlohmann::json v = testing::LoadVectors("receipt.json");
  ASSERT_EQ(v["requests"].size(), 6u);
  for (const auto& j : v["requests"]) {
    InferenceRequest r = RequestFromJson(j);
    std::string enc = EncodeRequest(r);
    EXPECT_EQ(std::vector<uint8_t>(enc.begin(), enc.end()), Bytes(j["encoding_hex"].get<std::string>()))
        << j["model"];
    EXPECT_EQ(RequestDigest(r), H(j["digest_hex"].get<std::string>()));
  }
}

TEST(Request, EveryFieldChangesTheDigest) {
  nlohmann::json v = testing::LoadVectors("receipt.json");
  const InferenceRequest base = RequestFromJson(v["requests"][1]);
  std::vector<InferenceRequest> variants(16, base);
  variants[0].model = "smalL";
  variants[1].generation.prompt.pop_back();
  variants[2].generation.max_tokens += 1;
  variants[3].generation.sampling.temperature = 0.70000005f;
  variants[4].generation.sampling.top_p = 0.8f;
  variants[5].generation.sampling.top_k = 41;
  variants[6].generation.sampling.seed ^= 1;
  variants[7].generation.stop = {"\nEND"};  // same bytes, other split
  variants[8].generation.stop.pop_back();
  variants[9].generation.sampling.presence_penalty = 0.1f;
  variants[10].generation.sampling.frequency_penalty = -0.1f;
  variants[11].generation.sampling.logit_bias = {{5, 1.0f}};
  variants[12].generation.sampling.logit_bias = {{5, 0.0f}};  // a zero bias is still bound
  variants[13].generation.sampling.choice = 1;
  variants[14].logprobs = 0;  // logprobs with no alternatives is still bound
  variants[15].logprobs = 5;
  for (const auto& r : variants) EXPECT_NE(RequestDigest(r), RequestDigest(base));
}

TEST(Response, EncodingAndDigestMatchVectors) {
  nlohmann::json v = testing::LoadVectors("receipt.json");
  int with_logprobs = 0;
  for (const auto& j : v["responses"]) {
    std::vector<int32_t> tokens = j["tokens"].get<std::vector<int32_t>>();
    std::vector<PositionLogprobs> logprobs;
    for (const auto& p : j["logprobs"].is_null() ? nlohmann::json::array() : j["logprobs"]) {
      PositionLogprobs pos{p[0].get<float>(), {}};
      for (const auto& t : p[1]) pos.top.push_back({t[0].get<int32_t>(), t[1].get<float>()});
      logprobs.push_back(pos);
    }
    const std::vector<PositionLogprobs>* lp = j["logprobs"].is_null() ? nullptr : &logprobs;
    with_logprobs += lp != nullptr;
    std::string enc = EncodeResponse(tokens, lp);
    EXPECT_EQ(std::vector<uint8_t>(enc.begin(), enc.end()), Bytes(j["encoding_hex"].get<std::string>()));
    EXPECT_EQ(ResponseDigest(tokens, lp), H(j["digest_hex"].get<std::string>()));
  }
  EXPECT_EQ(with_logprobs, 2);
}

// Every logprob, alternative and count is bound, and -0 is not +0.
TEST(Response, EveryLogprobChangesTheDigest) {
  const std::vector<int32_t> tokens = {33, 257};
  const std::vector<PositionLogprobs> base = {{-0.5f, {{33, -0.5f}, {7, -1.25f}}}, {-3.0f, {{12, 0.0f}}}};
  std::vector<std::vector<PositionLogprobs>> variants(5, base);
  variants[0][0].chosen = -0.50000006f;
  variants[1][0].top[1].id = 8;
  variants[2][0].top[1].logprob = -1.2500001f;
  variants[3][1].top[0].logprob = -0.0f;
  variants[4][1].top.pop_back();
  EXPECT_NE(ResponseDigest(tokens, &base), ResponseDigest(tokens));
  for (const auto& lp : variants) EXPECT_NE(ResponseDigest(tokens, &lp), ResponseDigest(tokens, &base));
}

Receipt ReceiptFromText(const nlohmann::json& v, const nlohmann::json& j) {
  Result<Receipt> r = ParseReceiptText(j["text"].get<std::string>());
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok()) return {};
  EXPECT_EQ(r->log, v["log"]["origin"].get<std::string>());
  EXPECT_EQ(r->index, j["index"].get<uint64_t>());
  EXPECT_EQ(r->model, H(v["model_hex"].get<std::string>()));
  return *r;
}

TEST(Receipt, TextSignatureAndParseMatchVectors) {
  nlohmann::json v = testing::LoadVectors("receipt.json");
  PrivateKey provider = ProviderKey(v);
  for (const auto& j : v["receipts"]) {
    Receipt r = ReceiptFromText(v, j);
    EXPECT_EQ(r.adapter.has_value(), j["index"].get<int>() % 2 == 1);
    if (r.adapter) {
      EXPECT_EQ(*r.adapter, H(v["adapter_hex"].get<std::string>()));
    }
    if (r.commitment) {
      EXPECT_EQ(*r.commitment, H(v["commitment_hex"].get<std::string>()));
    }
    // The digests it holds are the request's and response's, blinded by
    // its salt (Python's hmac wrote them).
    const Hash salt = H(j["salt_hex"].get<std::string>());
    const Hash request = H(v["requests"][j["request"].get<size_t>()]["digest_hex"].get<std::string>());
    const Hash response = H(v["responses"][j["response"].get<size_t>()]["digest_hex"].get<std::string>());
    EXPECT_EQ(r.request, BlindDigest(salt, request));
    EXPECT_EQ(r.response, BlindDigest(salt, response));
    EXPECT_NE(r.request, request);
    EXPECT_EQ(ReceiptText(r), j["text"].get<std::string>());
    EXPECT_EQ(SignReceipt(r, provider), j["note"].get<std::string>());  // Ed25519 is deterministic
    Result<Receipt> opened = VerifyReceipt(j["note"].get<std::string>(), provider.public_key());
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    EXPECT_EQ(*opened, r);
  }
}

TEST(Receipt, BlindingDependsOnTheSalt) {
  const Hash digest = Sha256Of(std::string_view("aftune inference request v3\n..."));
  const ReceiptSalt a = NewReceiptSalt(), b = NewReceiptSalt();
  EXPECT_NE(a, b);
  EXPECT_NE(BlindDigest(a, digest), BlindDigest(b, digest));
  EXPECT_EQ(BlindDigest(a, digest), BlindDigest(a, digest));
}

TEST(Receipt, FlippedBytesAndOtherKeysAreRejected) {
  nlohmann::json v = testing::LoadVectors("receipt.json");
  PrivateKey provider = ProviderKey(v);
  const std::string note = v["receipts"][1]["note"].get<std::string>();
  for (size_t i = 0; i < note.size(); ++i) {
    std::string bad = note;
    bad[i] ^= 0x01;
    EXPECT_FALSE(VerifyReceipt(bad, provider.public_key()).ok()) << "byte " << i;
  }
  Result<PrivateKey> other = PrivateKey::FromSeed("aftune.example/provider", Ed25519Seed{});
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(VerifyReceipt(note, other->public_key()).status().code(), Status::Code::kNotFound);
}

TEST(Receipt, StrictParsing) {
  nlohmann::json v = testing::LoadVectors("receipt.json");
  const std::string text = v["receipts"][1]["text"].get<std::string>();
  auto replace = [&](const std::string& from, const std::string& to) {
    std::string t = text;
    size_t at = t.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return t.replace(at, from.size(), to);
  };
  const std::string bad[] = {
      text.substr(0, text.size() - 1),           // no final LF
      text + "extra 1\n",                        // a ninth line
      replace("receipt v2", "receipt v1"),       // header: v1 held unblinded digests
      replace("index 1", "index 01"),            // non-canonical number
      replace("index 1", "index  1"),            // double space
      replace("\nmodel ", "\nmodel-state "),     // field name
      replace("adapter ", "adapter NONE"),       // neither hex nor none
      replace("\nrequest ", "\nresponse "),      // fields out of order
      replace("log aftune.example/provider", "log bad+name"),
  };
  for (const auto& t : bad) {
    Result<Receipt> r = ParseReceiptText(t);
    EXPECT_EQ(r.status().code(), Status::Code::kCorruption) << t;
  }
  std::string upper = text;
  upper[upper.find("request ") + 8] = 'A';
  EXPECT_NE(ParseReceiptText(upper).status().message().find("request"), std::string::npos);
}

}  // namespace
}  // namespace aftune
