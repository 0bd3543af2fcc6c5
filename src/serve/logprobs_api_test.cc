// logprobs through the service: OpenAI's shapes, bound in the receipt, equal
// to the replay's and to the generation's own logits, whatever the batch.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "infer/generator.h"
#include "infer/logprobs.h"
#include "protocol/receipt_bundle.h"
#include "serve/inference_service.h"
#include "serve/serve_test_util.h"

namespace aftune {
namespace {

using Json = nlohmann::json;

// Every choice's receipt bundle (the reply's when there is one choice).
std::vector<ReceiptBundle> Bundles(const Json& j) {
  std::vector<ReceiptBundle> out;
  for (const Json& c : j["choices"]) {
    Result<ReceiptBundle> b = ReceiptBundleFromJson(j.contains("aftune_receipt") ? j["aftune_receipt"]
                                                                                 : c["aftune_receipt"]);
    EXPECT_TRUE(b.ok()) << b.status().ToString();
    if (!b.ok()) continue;
    EXPECT_TRUE(CheckReceiptBundle(*b).ok());
    out.push_back(*b);
  }
  return out;
}

// A text as the reply shows it: JSON replaces invalid UTF-8 by U+FFFD.
std::string Shown(const std::string& text) {
  return Json::parse(Json(text).dump(-1, ' ', false, Json::error_handler_t::replace)).get<std::string>();
}

Json Reply(testing::ServedFixture& f, ApiEndpoint endpoint, const std::string& body) {
  HttpReply r = f.service->Handle(endpoint, body);
  EXPECT_EQ(r.status, 200) << r.body;
  return r.status == 200 ? Json::parse(r.body) : Json::object();
}

// What the generation itself sampled from (Generate's kept logits).
std::vector<PositionLogprobs> GeneratedLogprobs(testing::ServedFixture& f, const ReceiptBundle& b) {
  const Tokenizer& tok = *f.model->tokenizer;
  const Generator g(*f.model->decoder, f.model->eos_ids, [&tok](const std::vector<int32_t>& ids) { return tok.Decode(ids); });
  const GenerationResult out = g.Generate({b.request.generation}, true)[0];
  EXPECT_EQ(out.tokens, b.completion_tokens);
  return AnswerLogprobs(out.logits.data(), f.model->config.vocab_size, b.request.generation.sampling, out.tokens,
                        b.request.logprobs);
}

// Completions: {tokens, token_logprobs, top_logprobs, text_offset}, the
// values those the receipt binds, the replay's and the generation's.
TEST(LogprobsApi, CompletionsShapeReceiptAndReplay) {
  testing::ServedFixture f("logprobs-completions");
  const Json j = Reply(f, ApiEndpoint::kCompletions,
                       R"({"model": "tiny", "prompt": "ab", "max_tokens": 8, "temperature": 1.1, "seed": 3,
                           "frequency_penalty": 0.8, "logit_bias": {"101": 3}, "logprobs": 3})");
  const std::vector<ReceiptBundle> b = Bundles(j);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].request.logprobs, 3);
  const Json& lp = j["choices"][0]["logprobs"];
  const std::vector<int32_t>& tokens = b[0].completion_tokens;
  ASSERT_EQ(lp["tokens"].size(), tokens.size());
  ASSERT_EQ(b[0].completion_logprobs.size(), tokens.size());
  size_t offset = 0;
  for (size_t t = 0; t < tokens.size(); ++t) {
    const PositionLogprobs& p = b[0].completion_logprobs[t];
    const std::string text = f.model->tokenizer->Decode(std::vector<int32_t>{tokens[t]});
    EXPECT_EQ(lp["tokens"][t], Shown(text));
    EXPECT_EQ(lp["token_logprobs"][t].get<double>(), static_cast<double>(p.chosen));
    EXPECT_EQ(lp["text_offset"][t], offset);  // in the decoded bytes
    offset += text.size();
    ASSERT_EQ(p.top.size(), 3u);
    EXPECT_LE(lp["top_logprobs"][t].size(), 3u);  // an object: two ids of one text would share a key
    for (const TokenLogprob& alt : p.top) {
      EXPECT_LE(p.chosen, p.top[0].logprob);
      EXPECT_TRUE(lp["top_logprobs"][t].contains(Shown(f.model->tokenizer->Decode(std::vector<int32_t>{alt.id}))));
    }
    EXPECT_LT(p.chosen, 0.0f);
  }
  EXPECT_EQ(b[0].completion_logprobs,
            ReplayLogprobs(*f.model->decoder, b[0].request.generation, tokens, b[0].request.logprobs));
  EXPECT_EQ(b[0].completion_logprobs, GeneratedLogprobs(f, b[0]));
  // Without logprobs: null, and the receipt binds no logprobs.
  const Json plain = Reply(f, ApiEndpoint::kCompletions, R"({"model": "tiny", "prompt": "ab", "max_tokens": 8,
                           "temperature": 1.1, "seed": 3, "frequency_penalty": 0.8, "logit_bias": {"101": 3}})");
  EXPECT_TRUE(plain["choices"][0]["logprobs"].is_null());
  EXPECT_TRUE(plain["aftune_receipt"]["completion_logprobs"].is_null());
  EXPECT_EQ(Bundles(plain)[0].completion_tokens, tokens);  // logprobs change nothing about the answer
}

// Chat: {"content": [{token, logprob, bytes, top_logprobs: [{token, logprob,
// bytes}]}]}; logprobs true with no top_logprobs reports none.
TEST(LogprobsApi, ChatShape) {
  testing::ServedFixture f("logprobs-chat");
  const std::string head = R"({"model": "tiny", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 6,
                               "seed": 5, "logprobs": true)";
  const Json j = Reply(f, ApiEndpoint::kChatCompletions, head + R"(, "top_logprobs": 2})");
  const std::vector<ReceiptBundle> b = Bundles(j);
  ASSERT_EQ(b.size(), 1u);
  const Json& content = j["choices"][0]["logprobs"]["content"];
  ASSERT_EQ(content.size(), b[0].completion_tokens.size());
  for (size_t t = 0; t < content.size(); ++t) {
    const std::string text = f.model->tokenizer->Decode(std::vector<int32_t>{b[0].completion_tokens[t]});
    EXPECT_EQ(content[t]["logprob"].get<double>(), static_cast<double>(b[0].completion_logprobs[t].chosen));
    EXPECT_EQ(content[t]["bytes"].get<std::vector<unsigned char>>(), std::vector<unsigned char>(text.begin(), text.end()));
    EXPECT_EQ(content[t]["token"], Shown(text));
    ASSERT_EQ(content[t]["top_logprobs"].size(), 2u);
    for (size_t i = 0; i < 2; ++i) {
      const TokenLogprob& alt = b[0].completion_logprobs[t].top[i];
      EXPECT_EQ(content[t]["top_logprobs"][i]["logprob"].get<double>(), static_cast<double>(alt.logprob));
      const std::string a = f.model->tokenizer->Decode(std::vector<int32_t>{alt.id});
      EXPECT_EQ(content[t]["top_logprobs"][i]["bytes"].size(), a.size());
    }
  }
  const Json none = Reply(f, ApiEndpoint::kChatCompletions, head + "}");
  EXPECT_EQ(Bundles(none)[0].request.logprobs, 0);
  for (const Json& c : none["choices"][0]["logprobs"]["content"]) EXPECT_TRUE(c["top_logprobs"].empty());
}

// A request's logprobs are the same alone, beside other prompts and as
// choice 0 of several; each choice's are its own answer's.
TEST(LogprobsApi, EqualAcrossBatchCompositionAndPerChoice) {
  testing::ServedFixture f("logprobs-batch");
  const std::string tail = R"(, "max_tokens": 7, "temperature": 0.9, "seed": 2, "logprobs": 4)";
  auto bundles = [&](const std::string& prompt, int n) {
    return Bundles(Reply(f, ApiEndpoint::kCompletions, R"({"model": "tiny", "prompt": )" + prompt + tail +
                                                           R"(, "n": )" + std::to_string(n) + "}"));
  };
  const std::vector<ReceiptBundle> alone = bundles(R"("cd")", 1), batched = bundles(R"(["xyz w", "cd", "q"])", 1);
  const std::vector<ReceiptBundle> choices = bundles(R"("cd")", 3);
  ASSERT_EQ(alone.size(), 1u);
  ASSERT_EQ(batched.size(), 3u);
  ASSERT_EQ(choices.size(), 3u);
  EXPECT_EQ(batched[1].completion_logprobs, alone[0].completion_logprobs);
  EXPECT_EQ(choices[0].completion_logprobs, alone[0].completion_logprobs);
  for (const ReceiptBundle& c : choices) {
    EXPECT_EQ(c.completion_logprobs,
              ReplayLogprobs(*f.model->decoder, c.request.generation, c.completion_tokens, 4));
    EXPECT_EQ(c.completion_logprobs, GeneratedLogprobs(f, c));
  }
  EXPECT_NE(choices[1].completion_tokens, choices[0].completion_tokens);
}

}  // namespace
}  // namespace aftune
