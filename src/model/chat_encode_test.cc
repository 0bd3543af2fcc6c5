#include "model/chat_encode.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "base/file.h"

namespace aftune {
namespace {

ChatRenderer Renderer(const std::string& source, std::vector<std::pair<std::string, std::string>> tokens) {
  ChatTemplateConfig cfg;
  cfg.chat_template = source;
  cfg.template_source = "test";
  cfg.special_tokens = std::move(tokens);
  Result<ChatRenderer> r = ChatRenderer::Create(std::move(cfg));
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return std::move(r).value();
}

std::string TemplateFile(const std::string& name) {
  return *ReadFile(std::string(AFTUNE_SOURCE_DIR) + "/tests/data/templates/" + name);
}

jinja::Value Messages(const char* json) { return jinja::Value::FromJson(nlohmann::ordered_json::parse(json)); }

// With the byte tokenizer: the whole text, and the scored bytes as text.
std::pair<std::string, std::string> TextAndScored(const ScoredTokens& s) {
  std::string all, scored;
  for (size_t i = 0; i < s.tokens.size(); ++i) {
    all += static_cast<char>(s.tokens[i]);
    if (s.scored[i]) scored += static_cast<char>(s.tokens[i]);
  }
  return {all, scored};
}

const char* kTwoTurns = R"([{"role": "system", "content": "Be brief."},
  {"role": "user", "content": "Capital of France?"}, {"role": "assistant", "content": "Paris."},
  {"role": "user", "content": "Of Italy?"}, {"role": "assistant", "content": "Rome."}])";

TEST(ChatEncode, QwenTrainsTheAnswersAndTheirEndOfTurn) {
  ChatRenderer qwen = Renderer(TemplateFile("Qwen-Qwen2.5-Instruct.jinja"), {{"eos_token", "<|im_end|>"}});
  ByteTokenizer byte;
  Result<ScoredTokens> r = EncodeChatWithTemplate(byte, qwen, Messages(kTwoTurns));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto [all, scored] = TextAndScored(*r);
  EXPECT_EQ(all,
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nCapital of France?<|im_end|>\n"
            "<|im_start|>assistant\nParis.<|im_end|>\n<|im_start|>user\nOf Italy?<|im_end|>\n"
            "<|im_start|>assistant\nRome.<|im_end|>\n");
  EXPECT_EQ(scored, "Paris.<|im_end|>\nRome.<|im_end|>\n");
}

TEST(ChatEncode, LlamaTrainsTheAnswersAndEotButNotTheHeaders) {
  ChatRenderer llama = Renderer(TemplateFile("meta-llama-Meta-Llama-3-Instruct.jinja"),
                                {{"bos_token", "<|begin_of_text|>"}, {"eos_token", "<|eot_id|>"}});
  ByteTokenizer byte;
  Result<ScoredTokens> r = EncodeChatWithTemplate(byte, llama, Messages(kTwoTurns));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto [all, scored] = TextAndScored(*r);
  EXPECT_EQ(all.rfind("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>", 0), 0u);
  EXPECT_EQ(scored, "Paris.<|eot_id|>Rome.<|eot_id|>");
}

TEST(ChatEncode, GenerationBlocksMarkTheTurnsThemselves) {
  ChatRenderer marked = Renderer(
      "{% for m in messages %}{% if m.role == 'assistant' %}A: {% generation %}{{ m.content }}!{% endgeneration %}\n"
      "{% else %}{{ m.role }}: {{ m.content }}\n{% endif %}{% endfor %}",
      {});
  ByteTokenizer byte;
  Result<ScoredTokens> r = EncodeChatWithTemplate(byte, marked, Messages(kTwoTurns));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(TextAndScored(*r).second, "Paris.!Rome.!");
}

TEST(ChatEncode, TemplatesThatRewriteEarlierTurnsAreRefused) {
  // Qwen3 keeps an assistant turn's <think> only after the last user query:
  // the first answer renders differently alone and within the conversation.
  ChatRenderer qwen3 = Renderer(TemplateFile("Qwen-Qwen3-0.6B.jinja"), {{"eos_token", "<|im_end|>"}});
  ByteTokenizer byte;
  Result<ScoredTokens> r = EncodeChatWithTemplate(
      byte, qwen3,
      Messages(R"([{"role": "user", "content": "Q1"}, {"role": "assistant", "content": "<think>\nhm\n</think>\n\nA1"},
                  {"role": "user", "content": "Q2"}, {"role": "assistant", "content": "A2"}])"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("field 'messages[1]': the chat template is not prefix-stable"), std::string::npos)
      << r.status().ToString();
  // A single-answer conversation is fine with Qwen3.
  r = EncodeChatWithTemplate(byte, qwen3,
                             Messages(R"([{"role": "user", "content": "Q"}, {"role": "assistant", "content": "A"}])"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(TextAndScored(*r).second, "<think>\n\n</think>\n\nA<|im_end|>\n");

  r = EncodeChatWithTemplate(byte, qwen3, Messages(R"([{"role": "user", "content": "Q"}])"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "field 'messages' has no assistant turn to train on");
}

}  // namespace
}  // namespace aftune
