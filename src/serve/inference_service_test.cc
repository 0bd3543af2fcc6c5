#include "serve/inference_service.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "base/file.h"

#include <nlohmann/json.hpp>

#include "commit/checkpoint.h"
#include "commit/encoding.h"
#include "commit/note.h"
#include "protocol/receipt_bundle.h"
#include "serve/serve_test_util.h"

namespace aftune {
namespace {

using Json = nlohmann::json;

TEST(InferenceService, CompletionCarriesAVerifiableLoggedReceipt) {
  testing::ServedFixture f("service");
  HttpReply reply = f.service->Handle(ApiEndpoint::kCompletions,
                                      R"({"model": "tiny", "prompt": "3+4=", "max_tokens": 5, "temperature": 0.7,
                                          "top_p": 0.9, "top_k": 20, "seed": 11, "stop": ["zz"]})");
  ASSERT_EQ(reply.status, 200) << reply.body;
  Json j = Json::parse(reply.body);
  EXPECT_EQ(j["object"], "text_completion");
  EXPECT_EQ(j["model"], "tiny");
  ASSERT_TRUE(j["choices"][0]["text"].is_string());
  Result<ReceiptBundle> bundle = ReceiptBundleFromJson(j["aftune_receipt"]);
  ASSERT_TRUE(bundle.ok()) << bundle.status().ToString();
  EXPECT_EQ(j["id"], "cmpl-" + std::to_string(bundle->log_index));
  EXPECT_TRUE(CheckReceiptBundle(*bundle).ok());

  // The request the receipt binds is what was asked, tokenized as documented.
  const GenerationRequest& g = bundle->request.generation;
  std::vector<int32_t> prompt = {256, '3', '+', '4', '='};
  EXPECT_EQ(g.prompt, prompt);
  EXPECT_EQ(g.max_tokens, 5);
  EXPECT_EQ(g.sampling.temperature, 0.7f);
  EXPECT_EQ(g.sampling.top_p, 0.9f);
  EXPECT_EQ(g.sampling.top_k, 20);
  EXPECT_EQ(g.sampling.seed, 11u);
  EXPECT_EQ(g.stop, std::vector<std::string>{"zz"});
  EXPECT_EQ(j["usage"]["completion_tokens"], bundle->completion_tokens.size());

  // Signed by the provider, in the log at its index, under the checkpoint.
  Result<Receipt> receipt = VerifyReceipt(bundle->receipt, f.key.public_key());
  ASSERT_TRUE(receipt.ok()) << receipt.status().ToString();
  EXPECT_EQ(receipt->model, f.identity.model);
  EXPECT_FALSE(receipt->adapter.has_value());
  EXPECT_EQ(*f.log->Leaf(bundle->log_index), bundle->receipt);
  PublicKey known[] = {f.key.public_key()};
  Result<Note> cp_note = OpenNote(bundle->checkpoint, known);
  ASSERT_TRUE(cp_note.ok());
  Checkpoint cp = *ParseCheckpoint(cp_note->text);
  Result<InclusionProof> proof = f.log->ProveInclusion(bundle->log_index, cp.size);
  ASSERT_TRUE(proof.ok());
  EXPECT_TRUE(VerifyInclusion(bundle->log_index, cp.size, LeafHash(AsBytes(bundle->receipt)), *proof, cp.root).ok());
}

// A model's generation_config.json gives the sampling a request leaves out;
// the receipt binds what was used, and a request's own values win.
TEST(InferenceService, ModelsGenerationConfigSuppliesSamplingDefaults) {
  testing::ServedFixture f("gen-defaults");
  ASSERT_TRUE(WriteFileAtomic(f.dir + "/model/generation_config.json",
                              R"({"do_sample": true, "temperature": 0.6, "top_p": 0.9, "top_k": 20})")
                  .ok());
  Result<std::unique_ptr<ServedModel>> model = LoadServedModel(f.dir + "/model", "");
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  InferenceService service(**model, f.identity, f.key, f.log.get(), {});
  auto sampling = [&](const std::string& extra) {
    HttpReply reply = service.Handle(ApiEndpoint::kCompletions,
                                     R"({"model": "tiny", "prompt": "3+4=", "max_tokens": 3)" + extra + "}");
    EXPECT_EQ(reply.status, 200) << reply.body;
    return ReceiptBundleFromJson(Json::parse(reply.body)["aftune_receipt"]).value().request.generation.sampling;
  };
  SamplingParams s = sampling("");
  EXPECT_EQ(s.temperature, 0.6f);
  EXPECT_EQ(s.top_p, 0.9f);
  EXPECT_EQ(s.top_k, 20);
  s = sampling(R"(, "temperature": 0, "top_k": 0)");
  EXPECT_EQ(s.temperature, 0.0f);
  EXPECT_EQ(s.top_p, 0.9f);
  EXPECT_EQ(s.top_k, 0);

  ASSERT_TRUE(WriteFileAtomic(f.dir + "/model/generation_config.json", R"({"top_p": 1.5})").ok());
  Status bad = LoadServedModel(f.dir + "/model", "").status();
  EXPECT_NE(bad.message().find("generation_config.json: top_p"), std::string::npos) << bad.ToString();
}

TEST(InferenceService, ChatUsesTheChatTemplate) {
  testing::ServedFixture f("chat");
  HttpReply reply = f.service->Handle(
      ApiEndpoint::kChatCompletions,
      R"({"model": "tiny", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 3, "temperature": 0})");
  ASSERT_EQ(reply.status, 200) << reply.body;
  Json j = Json::parse(reply.body);
  EXPECT_EQ(j["object"], "chat.completion");
  EXPECT_EQ(j["choices"][0]["message"]["role"], "assistant");
  Result<ReceiptBundle> bundle = ReceiptBundleFromJson(j["aftune_receipt"]);
  ASSERT_TRUE(bundle.ok());
  std::vector<int32_t> want = {256};
  for (char c : std::string("[INST] Hi [/INST]")) want.push_back(static_cast<uint8_t>(c));
  EXPECT_EQ(bundle->request.generation.prompt, want);
}

TEST(InferenceService, ChatUsesTheModelsOwnTemplateWhenItHasOne) {
  testing::ServedFixture f("chat-own");
  ChatTemplateConfig cfg;
  cfg.chat_template =
      *ReadFile(std::string(AFTUNE_SOURCE_DIR) + "/tests/data/templates/HuggingFaceH4-zephyr-7b-beta.jinja");
  cfg.template_source = "zephyr";
  cfg.special_tokens = {{"eos_token", "</s>"}};
  Result<ChatRenderer> chat = ChatRenderer::Create(cfg);
  ASSERT_TRUE(chat.ok()) << chat.status().ToString();
  f.model->chat = std::make_shared<const ChatRenderer>(*chat);
  HttpReply reply = f.service->Handle(ApiEndpoint::kChatCompletions,
                                      R"({"model": "tiny", "messages": [{"role": "system", "content": "Be brief."},)"
                                      R"( {"role": "user", "content": "Hi"}], "max_tokens": 2, "temperature": 0})");
  ASSERT_EQ(reply.status, 200) << reply.body;
  Result<ReceiptBundle> bundle = ReceiptBundleFromJson(Json::parse(reply.body)["aftune_receipt"]);
  ASSERT_TRUE(bundle.ok());
  // python3-jinja2 renders Zephyr's template so (add_generation_prompt=True).
  const std::string text = "<|system|>\nBe brief.</s>\n<|user|>\nHi</s>\n<|assistant|>\n";
  EXPECT_EQ(bundle->request.generation.prompt, std::vector<int32_t>(text.begin(), text.end()));
}

struct BadInput {
  ApiEndpoint endpoint;
  std::string body;
  int status;
  std::string param;
};

// Every bad request is a 4xx OpenAI-style error naming the field, and none
// leaves a receipt in the log.
TEST(InferenceService, BadInputIsAnErrorWithoutAReceipt) {
  testing::ServedFixture f("bad", ServiceOptions{.max_tokens_limit = 64, .max_batch = 8});
  const ApiEndpoint C = ApiEndpoint::kCompletions, K = ApiEndpoint::kChatCompletions;
  const std::string long_prompt(300, 'x');  // the tiny model's context is 256
  const BadInput cases[] = {
      {C, "", 400, ""},
      {C, "{", 400, ""},
      {C, "[]", 400, ""},
      {C, R"({"model": "tiny", "prompt": "a"} x)", 400, ""},
      {C, std::string("{\"model\": \"tiny\", \"prompt\": \"a\0\"}", 32), 400, ""},
      {C, R"({"model": "tiny", "model": "tiny", "prompt": "a"})", 400, ""},
      {C, R"({"model": "tiny", "prompt": [[[[[[[[[["a"]]]]]]]]]]})", 400, ""},
      {C, R"({"prompt": "a"})", 400, "model"},
      {C, R"({"model": 7, "prompt": "a"})", 400, "model"},
      {C, R"({"model": "big", "prompt": "a"})", 404, "model"},
      {C, R"({"model": "tiny"})", 400, "prompt"},
      {C, R"({"model": "tiny", "prompt": 12})", 400, "prompt"},
      {C, R"({"model": "tiny", "prompt": []})", 400, "prompt"},
      {C, R"({"model": "tiny", "prompt": [[]]})", 400, "prompt[0]"},
      {C, R"({"model": "tiny", "prompt": [1, "a"]})", 400, "prompt[1]"},
      {C, R"({"model": "tiny", "prompt": [[1], 2]})", 400, "prompt[1]"},
      {C, R"({"model": "tiny", "prompt": [99999]})", 400, "prompt"},
      {C, R"({"model": "tiny", "prompt": [-1]})", 400, "prompt[0]"},
      {C, R"({"model": "tiny", "prompt": ")" + long_prompt + R"("})", 400, "prompt"},
      {C, R"({"model": "tiny", "prompt": "a", "max_tokens": 0})", 400, "max_tokens"},
      {C, R"({"model": "tiny", "prompt": "a", "max_tokens": -3})", 400, "max_tokens"},
      {C, R"({"model": "tiny", "prompt": "a", "max_tokens": 65})", 400, "max_tokens"},
      {C, R"({"model": "tiny", "prompt": "a", "max_tokens": 2.5})", 400, "max_tokens"},
      {C, R"({"model": "tiny", "prompt": "a", "max_tokens": "5"})", 400, "max_tokens"},
      {C, R"({"model": "tiny", "prompt": "a", "max_tokens": 18446744073709551615})", 400, "max_tokens"},
      {C, R"({"model": "tiny", "prompt": ")" + std::string(250, 'y') + R"(", "max_tokens": 10})", 400, "max_tokens"},
      {C, R"({"model": "tiny", "prompt": "a", "temperature": -1})", 400, "temperature"},
      {C, R"({"model": "tiny", "prompt": "a", "temperature": 1e300})", 400, "temperature"},
      {C, R"({"model": "tiny", "prompt": "a", "temperature": "hot"})", 400, "temperature"},
      {C, R"({"model": "tiny", "prompt": "a", "top_p": 0})", 400, "top_p"},
      {C, R"({"model": "tiny", "prompt": "a", "top_p": 1.5})", 400, "top_p"},
      {C, R"({"model": "tiny", "prompt": "a", "top_k": -1})", 400, "top_k"},
      {C, R"({"model": "tiny", "prompt": "a", "seed": -1})", 400, "seed"},
      {C, R"({"model": "tiny", "prompt": "a", "seed": 1.5})", 400, "seed"},
      {C, R"({"model": "tiny", "prompt": "a", "stop": 3})", 400, "stop"},
      {C, R"({"model": "tiny", "prompt": "a", "stop": ["a", "b", "c", "d", "e"]})", 400, "stop"},
      {C, R"({"model": "tiny", "prompt": "a", "stop": ["a", 1]})", 400, "stop[1]"},
      {C, R"({"model": "tiny", "prompt": "a", "n": 0})", 400, "n"},
      {C, R"({"model": "tiny", "prompt": "a", "n": 65})", 400, "n"},
      {C, R"({"model": "tiny", "prompt": ["a", "b", "c"], "n": 22})", 400, "n"},
      {C, R"({"model": "tiny", "prompt": "a", "stream": "no"})", 400, "stream"},
      {C, R"({"model": "tiny", "prompt": "a", "logit_bias": {"100000": 10}})", 400, "logit_bias"},
      {C, R"({"model": "tiny", "prompt": "a", "logit_bias": {"5": 101}})", 400, "logit_bias"},
      {C, R"({"model": "tiny", "prompt": "a", "logprobs": 6})", 400, "logprobs"},
      {K, R"({"model": "tiny", "messages": [{"role": "user", "content": "a"}], "top_logprobs": 2})", 400,
       "top_logprobs"},
      {K, R"({"model": "tiny", "messages": [{"role": "user", "content": "a"}], "logprobs": true, "stream": true})",
       400, "logprobs"},
      {C, R"({"model": "tiny", "prompt": "a", "presence_penalty": 2.5})", 400, "presence_penalty"},
      {C, R"({"model": "tiny", "prompt": "a", "frequency_penalty": -3})", 400, "frequency_penalty"},
      {C, R"({"model": "tiny", "prompt": "a", "max_completion_tokens": 3})", 400, "max_completion_tokens"},
      {C, R"({"model": "tiny", "prompt": "a", "store": "yes"})", 400, "store"},
      {C, R"({"model": "tiny", "prompt": "a", "metadata": {"k": 1}})", 400, "metadata.k"},
      {K, R"({"model": "tiny", "messages": [{"role": "user", "content": "a"}], "tools": [{"type": "function"}]})", 400,
       "tools"},
      {K, R"({"model": "tiny", "messages": [{"role": "user", "content": "a"}], "max_tokens": 2,
              "max_completion_tokens": 3})", 400, "max_completion_tokens"},
      {K, R"({"model": "tiny", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]})",
       400, "messages[0].content[0].type"},
      {K, R"({"model": "tiny", "messages": [{"role": "user", "content": [{"type": "text"}]}]})", 400,
       "messages[0].content[0].text"},
      {K, R"({"model": "tiny", "messages": [{"role": "user", "content": []}]})", 400, "messages[0].content"},
      {C, R"({"model": "tiny", "messages": []})", 400, "messages"},
      {K, R"({"model": "tiny", "prompt": "a"})", 400, "prompt"},
      {K, R"({"model": "tiny"})", 400, "messages"},
      {K, R"({"model": "tiny", "messages": "hi"})", 400, "messages"},
      {K, R"({"model": "tiny", "messages": [{"role": "user"}]})", 400, "messages[0].content"},
      {K, R"({"model": "tiny", "messages": [{"role": "user", "content": 5}]})", 400, "messages[0].content"},
      {K, R"({"model": "tiny", "messages": [{"role": "user", "content": "a", "x": 1}]})", 400, "messages[0].x"},
      {K, R"({"model": "tiny", "messages": [{"role": "robot", "content": "a"}]})", 400, "messages"},
      {K, R"({"model": "tiny", "messages": [{"role": "assistant", "content": "a"}]})", 400, "messages"},
  };
  for (const BadInput& c : cases) {
    HttpReply reply = f.service->Handle(c.endpoint, c.body);
    EXPECT_EQ(reply.status, c.status) << c.body << " -> " << reply.body;
    Json j = Json::parse(reply.body, nullptr, false);
    ASSERT_TRUE(j.is_object()) << reply.body;
    ASSERT_TRUE(j["error"]["message"].is_string()) << reply.body;
    EXPECT_FALSE(j["error"]["message"].get<std::string>().empty());
    EXPECT_EQ(j["error"]["type"], "invalid_request_error");
    if (c.param.empty()) {
      EXPECT_TRUE(j["error"]["param"].is_null()) << reply.body;
    } else {
      EXPECT_EQ(j["error"]["param"], c.param) << c.body << " -> " << reply.body;
    }
  }
  EXPECT_EQ(f.log->size(), 0u);
  // A request at the limits is served.
  HttpReply ok = f.service->Handle(C, R"({"model": "tiny", "prompt": "a", "max_tokens": 64, "n": 1,
                                          "stream": false, "stop": null, "user": "u", "seed": 18446744073709551615})");
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(f.log->size(), 1u);
}

}  // namespace
}  // namespace aftune

namespace aftune {
namespace {

// The prompt tokens a chat request's receipt binds.
std::vector<int32_t> ChatPromptOf(InferenceService& service, const std::string& body) {
  HttpReply reply = service.Handle(ApiEndpoint::kChatCompletions, body);
  EXPECT_EQ(reply.status, 200) << reply.body;
  if (reply.status != 200) return {};
  Result<ReceiptBundle> b = ReceiptBundleFromJson(Json::parse(reply.body)["aftune_receipt"]);
  return b.ok() ? b->request.generation.prompt : std::vector<int32_t>{};
}

// The penalties and biases a request gives are the ones its receipt binds,
// and they act on the answer (a -100 bias bans a token, +100 forces it).
TEST(InferenceServiceParams, PenaltiesAndLogitBiasAreBoundInTheReceipt) {
  testing::ServedFixture f("penalties");
  auto complete = [&](const std::string& extra) {
    HttpReply reply = f.service->Handle(ApiEndpoint::kCompletions,
                                        R"({"model": "tiny", "prompt": "ab", "max_tokens": 12, "seed": 2)" + extra + "}");
    EXPECT_EQ(reply.status, 200) << reply.body;
    Result<ReceiptBundle> b = ReceiptBundleFromJson(Json::parse(reply.body)["aftune_receipt"]);
    EXPECT_TRUE(b.ok() && CheckReceiptBundle(*b).ok());
    return *b;
  };
  const ReceiptBundle plain = complete(R"(, "temperature": 0)");
  const int32_t first = plain.completion_tokens[0];
  const ReceiptBundle b = complete(R"(, "temperature": 0, "presence_penalty": 0.25, "frequency_penalty": 1.5,
                                      "logit_bias": {")" + std::to_string(first) + R"(": -100, "120": 0.5})");
  const SamplingParams& s = b.request.generation.sampling;
  EXPECT_EQ(s.presence_penalty, 0.25f);
  EXPECT_EQ(s.frequency_penalty, 1.5f);
  std::vector<std::pair<int32_t, float>> bias = {{first, -100.0f}, {120, 0.5f}};
  std::sort(bias.begin(), bias.end());
  EXPECT_EQ(s.logit_bias, bias);
  EXPECT_NE(RequestDigest(b.request), RequestDigest(plain.request));
  for (int32_t t : b.completion_tokens) EXPECT_NE(t, first);
  const ReceiptBundle forced = complete(R"(, "temperature": 1.5, "logit_bias": {"120": 100})");
  EXPECT_EQ(forced.completion_tokens, std::vector<int32_t>(12, 120));
}

TEST(InferenceServiceParams, ChatSpellingsOfTheSameRequest) {
  testing::ServedFixture f("spellings");
  auto prompt = [&](const std::string& messages, const std::string& extra) {
    return ChatPromptOf(*f.service, R"({"model": "tiny", "messages": )" + messages + extra + "}");
  };
  const std::string extra = R"(, "max_tokens": 2)";
  const std::vector<int32_t> want = prompt(R"([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi\nthere"}])",
                           extra);
  ASSERT_FALSE(want.empty());
  // developer is system; text parts are joined with "\n".
  EXPECT_EQ(prompt(R"([{"role": "developer", "content": "Be brief."},
                       {"role": "user", "content": [{"type": "text", "text": "Hi"}, {"type": "text", "text": "there"}]}])",
                   extra),
            want);
  // max_completion_tokens is max_tokens; no-op fields change nothing.
  EXPECT_EQ(prompt(R"([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi\nthere"}])",
                   R"(, "max_completion_tokens": 2, "user": "u", "metadata": {"a": "b"}, "store": false,
                      "parallel_tool_calls": true, "logprobs": false, "presence_penalty": 0, "frequency_penalty": 0.0,
                      "logit_bias": {}, "tools": [], "response_format": {"type": "text"})"),
            want);
  HttpReply r = f.service->Handle(ApiEndpoint::kChatCompletions,
                                  R"({"model": "tiny", "messages": [{"role": "user", "content": "x"}],
                                      "max_completion_tokens": 3, "temperature": 0})");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(Json::parse(r.body)["usage"]["completion_tokens"], 3);
  EXPECT_EQ(Json::parse(r.body)["system_fingerprint"], f.service->system_fingerprint());
  EXPECT_EQ(f.service->system_fingerprint(), "fp_" + HashToHex(f.identity.model).substr(0, 16));
}

// The data of every event of a streamed reply.
std::vector<std::string> Events(const HttpReply& reply) {
  std::vector<std::string> events;
  EXPECT_TRUE(reply.stream) << reply.body;
  if (reply.stream) reply.stream([&](const std::string& data) {
    events.push_back(data);
    return true;
  });
  return events;
}

TEST(InferenceServiceStream, StreamedEqualsNonStreamed) {
  testing::ServedFixture f("stream");
  const std::string prompts[] = {R"("prompt": "3+4=")", R"("messages": [{"role": "user", "content": "Hi"}])"};
  for (int chat = 0; chat < 2; ++chat) {
    const ApiEndpoint endpoint = chat ? ApiEndpoint::kChatCompletions : ApiEndpoint::kCompletions;
    for (int seed = 0; seed < 6; ++seed) {
      const std::string common = R"({"model": "tiny", )" + prompts[chat] + R"(, "max_tokens": 12, "seed": )" +
                                 std::to_string(seed) + (seed % 3 == 2 ? R"(, "stop": ["a", "\u00e9"])" : "");
      HttpReply whole = f.service->Handle(endpoint, common + "}");
      ASSERT_EQ(whole.status, 200) << whole.body;
      Json want = Json::parse(whole.body);
      const bool usage = seed % 2 == 1;
      std::vector<std::string> events = Events(f.service->Handle(
          endpoint, common + R"(, "stream": true, "stream_options": {"include_usage": )" +
                        (usage ? "true" : "false") + "}}"));
      ASSERT_GE(events.size(), 2u);
      EXPECT_EQ(events.back(), "[DONE]");
      std::string text;
      Json last, finish;
      for (size_t i = 0; i + 1 < events.size(); ++i) {
        Json c = Json::parse(events[i]);
        EXPECT_EQ(c["object"], chat ? "chat.completion.chunk" : "text_completion");
        EXPECT_EQ(c["id"], Json::parse(events[0])["id"]);
        EXPECT_EQ(c["system_fingerprint"], want["system_fingerprint"]);
        EXPECT_EQ(c.contains("usage"), usage);
        last = c;
        if (c["choices"].empty()) continue;  // the usage chunk
        const Json& choice = c["choices"][0];
        if (chat) {
          EXPECT_EQ(choice["delta"].contains("role"), i == 0) << events[i];
          if (choice["delta"].contains("content")) text += choice["delta"]["content"].get<std::string>();
        } else {
          text += choice["text"].get<std::string>();
        }
        if (!choice["finish_reason"].is_null()) finish = c;
        else EXPECT_TRUE(finish.is_null()) << "a chunk after the finish: " << events[i];
      }
      const Json& w = want["choices"][0];
      EXPECT_EQ(text, chat ? w["message"]["content"] : w["text"]) << events.size();
      ASSERT_FALSE(finish.is_null());
      EXPECT_EQ(finish["choices"][0]["finish_reason"], w["finish_reason"]);
      if (usage) {
        EXPECT_TRUE(last["choices"].empty());
        EXPECT_EQ(last["usage"], want["usage"]);
      }
      // The receipt, in the final chunk, binds the same request and tokens.
      Result<ReceiptBundle> got = ReceiptBundleFromJson(last["aftune_receipt"]);
      ASSERT_TRUE(got.ok()) << last.dump();
      EXPECT_TRUE(CheckReceiptBundle(*got).ok());
      Result<ReceiptBundle> ref = ReceiptBundleFromJson(want["aftune_receipt"]);
      EXPECT_EQ(got->completion_tokens, ref->completion_tokens);
      EXPECT_EQ(RequestDigest(got->request), RequestDigest(ref->request));
      EXPECT_EQ(got->log_index, ref->log_index + 1);
    }
  }
}

TEST(InferenceServiceStream, AClientGoneMidStreamIsCancelledAndNotReceipted) {
  testing::ServedFixture f("stream-gone");
  const std::string body = R"({"model": "tiny", "prompt": "3+4=", "max_tokens": 200, "temperature": 0)";
  HttpReply reply = f.service->Handle(ApiEndpoint::kCompletions, body + R"(, "stream": true})");
  ASSERT_TRUE(reply.stream);
  int events = 0;
  reply.stream([&](const std::string&) { return ++events < 2; });  // the client leaves at the second event
  EXPECT_EQ(events, 2);
  EXPECT_EQ(f.log->size(), 0u);
  // The service goes on serving: the same request, not streamed, is answered and receipted.
  HttpReply whole = f.service->Handle(ApiEndpoint::kCompletions, body + "}");
  ASSERT_EQ(whole.status, 200) << whole.body;
  EXPECT_EQ(f.log->size(), 1u);
}

// The same for an answer that is not streamed, told by the predicate the
// HTTP server polls (GuardedServer::ClientGone).
TEST(InferenceService, AClientGoneBeforeItsAnswerIsCancelledAndNotReceipted) {
  testing::ServedFixture f("gone");
  const std::string body = R"({"model": "tiny", "prompt": "3+4=", "max_tokens": 200, "temperature": 0})";
  int polls = 0;
  HttpReply gone = f.service->Handle(ApiEndpoint::kCompletions, body, [&polls] { return ++polls >= 2; });
  EXPECT_EQ(gone.status, 499) << gone.body;
  EXPECT_GE(polls, 2);
  EXPECT_EQ(f.log->size(), 0u);
  HttpReply stayed = f.service->Handle(ApiEndpoint::kCompletions, body, [] { return false; });
  ASSERT_EQ(stayed.status, 200) << stayed.body;
  EXPECT_EQ(f.log->size(), 1u);
  EXPECT_EQ(Json::parse(stayed.body)["choices"][0]["text"],
            Json::parse(f.service->Handle(ApiEndpoint::kCompletions, body).body)["choices"][0]["text"]);
}

TEST(InferenceServiceStream, StreamOptionsNeedStreaming) {
  testing::ServedFixture f("stream-opts");
  struct Case {
    const char* body;
    const char* param;
  } cases[] = {
      {R"({"model": "tiny", "prompt": "a", "stream_options": {"include_usage": true}})", "stream_options"},
      {R"({"model": "tiny", "prompt": "a", "stream": true, "stream_options": {"x": 1}})", "stream_options.x"},
      {R"({"model": "tiny", "prompt": "a", "stream": true, "stream_options": {"include_usage": 1}})",
       "stream_options.include_usage"},
      {R"({"model": "tiny", "prompt": "a", "stream": "yes"})", "stream"},
  };
  for (const Case& c : cases) {
    HttpReply r = f.service->Handle(ApiEndpoint::kCompletions, c.body);
    EXPECT_EQ(r.status, 400) << c.body;
    EXPECT_FALSE(r.stream);
    EXPECT_EQ(Json::parse(r.body)["error"]["param"], c.param) << r.body;
  }
  EXPECT_EQ(f.log->size(), 0u);
}

}  // namespace
}  // namespace aftune

namespace aftune {
namespace {

// Every choice of a reply, with its own receipt bundle (several choices) or
// the reply's (one).
struct Answer {
  std::string text;
  ReceiptBundle bundle;
};
std::vector<Answer> Answers(const HttpReply& reply) {
  EXPECT_EQ(reply.status, 200) << reply.body;
  std::vector<Answer> out;
  if (reply.status != 200) return out;
  const Json j = Json::parse(reply.body);
  const bool one = j["choices"].size() == 1;
  EXPECT_EQ(j.contains("aftune_receipt"), one);
  for (size_t k = 0; k < j["choices"].size(); ++k) {
    const Json& c = j["choices"][k];
    EXPECT_EQ(c["index"], k);
    EXPECT_EQ(c.contains("aftune_receipt"), !one);
    Result<ReceiptBundle> b = ReceiptBundleFromJson(one ? j["aftune_receipt"] : c["aftune_receipt"]);
    EXPECT_TRUE(b.ok() && CheckReceiptBundle(*b).ok());
    out.push_back({c.contains("text") ? c["text"].get<std::string>() : c["message"]["content"].get<std::string>(),
                   b.ok() ? *b : ReceiptBundle{}});
  }
  return out;
}

// n choices: choice j is the request with Philox stream j, its own receipt,
// replayed alone by the generator; choice 0 is the n = 1 answer.
TEST(InferenceServiceChoices, EachChoiceHasItsOwnStreamAndReceipt) {
  testing::ServedFixture f("choices");
  const std::string body = R"({"model": "tiny", "prompt": "ab", "max_tokens": 10, "temperature": 1.2, "seed": 4)";
  const std::vector<Answer> single = Answers(f.service->Handle(ApiEndpoint::kCompletions, body + "}"));
  HttpReply reply = f.service->Handle(ApiEndpoint::kCompletions, body + R"(, "n": 3})");
  const std::vector<Answer> many = Answers(reply);
  ASSERT_EQ(many.size(), 3u);
  ASSERT_EQ(single.size(), 1u);
  EXPECT_EQ(many[0].bundle.completion_tokens, single[0].bundle.completion_tokens);
  EXPECT_EQ(many[0].text, single[0].text);
  std::set<uint64_t> indices;
  for (uint32_t j = 0; j < 3; ++j) {
    const ReceiptBundle& b = many[j].bundle;
    indices.insert(b.log_index);
    EXPECT_EQ(b.request.generation.sampling.choice, j);
    EXPECT_EQ(b.request.generation.sampling.seed, 4u);
    EXPECT_EQ(ReplayChoices(*f.model->decoder, b.request.generation, b.completion_tokens, nullptr),
              b.completion_tokens);
    if (j > 0) {
      EXPECT_NE(b.completion_tokens, many[0].bundle.completion_tokens);
    }
  }
  EXPECT_EQ(indices.size(), 3u);
  const Json usage = Json::parse(reply.body)["usage"];
  EXPECT_EQ(usage["prompt_tokens"], 3);  // one prompt, counted once
  size_t completion = 0;
  for (const Answer& a : many) completion += a.bundle.completion_tokens.size();
  EXPECT_EQ(usage["completion_tokens"], completion);
}

// Prompt arrays: prompt i, choice j is choice i × n + j, each what the
// prompt alone would get; token-id prompts are used as given.
TEST(InferenceServiceChoices, PromptArraysAnswerEachPrompt) {
  testing::ServedFixture f("prompts");
  const std::string common = R"(, "max_tokens": 6, "temperature": 0.9, "seed": 8)";
  auto answers = [&](const std::string& prompt, int n) {
    return Answers(f.service->Handle(ApiEndpoint::kCompletions, R"({"model": "tiny", "prompt": )" + prompt + common +
                                                                    R"(, "n": )" + std::to_string(n) + "}"));
  };
  const std::vector<Answer> ab = answers(R"("ab")", 2), cd = answers(R"("cd")", 2);
  const std::vector<Answer> both = answers(R"(["ab", "cd"])", 2);
  ASSERT_EQ(both.size(), 4u);
  ASSERT_EQ(ab.size(), 2u);
  ASSERT_EQ(cd.size(), 2u);
  for (size_t j = 0; j < 2; ++j) {
    EXPECT_EQ(both[j].bundle.completion_tokens, ab[j].bundle.completion_tokens);
    EXPECT_EQ(both[2 + j].bundle.completion_tokens, cd[j].bundle.completion_tokens);
    EXPECT_EQ(RequestDigest(both[2 + j].bundle.request), RequestDigest(cd[j].bundle.request));
  }
  // "ab" is BOS a b; the same ids given as tokens are the same request.
  const std::vector<Answer> ids = answers("[256, 97, 98]", 1);
  ASSERT_EQ(ids.size(), 1u);
  EXPECT_EQ(RequestDigest(ids[0].bundle.request), RequestDigest(ab[0].bundle.request));
  const std::vector<Answer> id_arrays = answers("[[256, 99, 100], [256, 97, 98]]", 1);
  ASSERT_EQ(id_arrays.size(), 2u);
  EXPECT_EQ(id_arrays[0].bundle.completion_tokens, cd[0].bundle.completion_tokens);
  EXPECT_EQ(id_arrays[1].bundle.completion_tokens, ab[0].bundle.completion_tokens);
  const std::vector<int32_t> no_bos = {97, 98};
  EXPECT_EQ(answers("[97, 98]", 1)[0].bundle.request.generation.prompt, no_bos);
}

// Streamed, several prompts and choices: chunks carry their choice's index;
// each choice's text and receipt equal the non-streamed ones.
TEST(InferenceServiceChoices, StreamedChoicesEqualNonStreamed) {
  testing::ServedFixture f("stream-choices");
  for (int chat = 0; chat < 2; ++chat) {
    const ApiEndpoint endpoint = chat ? ApiEndpoint::kChatCompletions : ApiEndpoint::kCompletions;
    const std::string body = std::string(R"({"model": "tiny", )") +
                             (chat ? R"("messages": [{"role": "user", "content": "Hi"}])" : R"("prompt": ["ab", "c"])") +
                             R"(, "max_tokens": 8, "temperature": 1.1, "seed": 3, "n": 2)";
    const std::vector<Answer> want = Answers(f.service->Handle(endpoint, body + "}"));
    const size_t choices = chat ? 2 : 4;
    ASSERT_EQ(want.size(), choices);
    std::vector<std::string> events =
        Events(f.service->Handle(endpoint, body + R"(, "stream": true, "stream_options": {"include_usage": true}})"));
    ASSERT_FALSE(events.empty());
    EXPECT_EQ(events.back(), "[DONE]");
    std::vector<std::string> text(choices);
    std::vector<Json> receipt(choices);
    Json usage;
    for (size_t i = 0; i + 1 < events.size(); ++i) {
      const Json c = Json::parse(events[i]);
      EXPECT_FALSE(c.contains("aftune_receipt"));  // several choices: each its own
      if (c["choices"].empty()) usage = c["usage"];
      for (const Json& choice : c["choices"]) {
        const size_t k = choice["index"].get<size_t>();
        ASSERT_LT(k, choices);
        const Json& piece = chat ? choice["delta"]["content"] : choice["text"];
        if (piece.is_string()) text[k] += piece.get<std::string>();
        if (choice.contains("aftune_receipt")) receipt[k] = choice["aftune_receipt"];
      }
    }
    for (size_t k = 0; k < choices; ++k) {
      EXPECT_EQ(text[k], want[k].text) << k;
      Result<ReceiptBundle> b = ReceiptBundleFromJson(receipt[k]);
      ASSERT_TRUE(b.ok()) << k;
      EXPECT_EQ(RequestDigest(b->request), RequestDigest(want[k].bundle.request));
      EXPECT_EQ(b->completion_tokens, want[k].bundle.completion_tokens);
    }
    EXPECT_TRUE(usage.is_object());
  }
}

}  // namespace
}  // namespace aftune
