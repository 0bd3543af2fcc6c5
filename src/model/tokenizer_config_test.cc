#include "model/tokenizer_config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace aftune {
namespace {

std::string Err(const std::string& json) {
  Result<ChatTemplateConfig> r = ParseTokenizerConfig(json, "tc.json");
  EXPECT_FALSE(r.ok()) << json;
  return r.ok() ? "" : r.status().message();
}

TEST(TokenizerConfig, TemplateStringOrNamedDefaultAndSpecialTokens) {
  Result<ChatTemplateConfig> r = ParseTokenizerConfig(
      R"({"add_bos_token": true, "bos_token": {"content": "<s>", "lstrip": false, "normalized": false},
          "eos_token": "</s>", "pad_token": null, "unk_token": "<unk>",
          "additional_special_tokens": ["<x>", {"content": "<y>"}],
          "chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "D"}]})",
      "tc.json");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->chat_template, "D");
  EXPECT_EQ(r->template_source, "tc.json");
  using Tokens = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(r->special_tokens, (Tokens{{"bos_token", "<s>"}, {"eos_token", "</s>"}, {"unk_token", "<unk>"}}));
  EXPECT_EQ(r->additional_special_tokens, (std::vector<std::string>{"<x>", "<y>"}));
  jinja::Dict vars = r->Variables();
  ASSERT_EQ(vars.size(), 4u);  // pad_token is null: no variable, as in transformers
  EXPECT_EQ(vars[0].first, "bos_token");
  EXPECT_EQ(vars[3].second.Repr(), "['<x>', '<y>']");

  Result<ChatTemplateConfig> plain = ParseTokenizerConfig(R"({"chat_template": "{{ x }}"})", "p");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->chat_template, "{{ x }}");
  Result<ChatTemplateConfig> none = ParseTokenizerConfig(R"({"model_max_length": 10})", "n");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->chat_template.has_value());
  EXPECT_TRUE(none->template_source.empty());
}

TEST(TokenizerConfig, BadFieldsAreNamed) {
  EXPECT_EQ(Err("{").rfind("tc.json: not valid JSON: ", 0), 0u);
  EXPECT_EQ(Err(R"({"eos_token": "a", "eos_token": "b"})"), "tc.json: key 'eos_token' appears twice");
  EXPECT_EQ(Err("[]"), "tc.json: must be a JSON object");
  EXPECT_EQ(Err(R"({"chat_template": 3})"),
            "tc.json: field 'chat_template' must be a string, a list of {name, template} or null");
  EXPECT_EQ(Err(R"({"chat_template": [{"name": "default", "template": 1}]})"),
            "tc.json: field 'chat_template[0].template' must be a string");
  EXPECT_EQ(Err(R"({"chat_template": [{"name": "a", "template": "x"}]})"),
            "tc.json: field 'chat_template' lists named templates but none is named 'default'");
  EXPECT_EQ(Err(R"({"eos_token": 2})"), "tc.json: field 'eos_token' must be a string, an AddedToken object or null");
  EXPECT_EQ(Err(R"({"bos_token": {"lstrip": true}})"), "tc.json: field 'bos_token.content' must be a string");
  EXPECT_EQ(Err(R"({"additional_special_tokens": [null]})"),
            "tc.json: field 'additional_special_tokens[0]' must not be null");
}

TEST(TokenizerConfig, CanonicalBytesChangeWithTemplateAndTokens) {
  auto bytes = [](const std::string& json) {
    Result<ChatTemplateConfig> r = ParseTokenizerConfig(json, "x");
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->CanonicalBytes() : "";
  };
  const std::string base = bytes(R"({"eos_token": "</s>", "chat_template": "A"})");
  EXPECT_EQ(base, bytes(R"({"chat_template": "A", "eos_token": {"content": "</s>"}, "model_max_length": 5})"));
  EXPECT_NE(base, bytes(R"({"eos_token": "</s>", "chat_template": "A "})"));
  EXPECT_NE(base, bytes(R"({"eos_token": "<|im_end|>", "chat_template": "A"})"));
  EXPECT_NE(base, bytes(R"({"eos_token": "</s>"})"));
  EXPECT_NE(base, bytes(R"({"bos_token": "</s>", "chat_template": "A"})"));
}

TEST(TokenizerConfig, LoadPrefersChatTemplateJinja) {
  std::string dir = (std::filesystem::temp_directory_path() / ("aftune-tc-" + std::to_string(::getpid()))).string();
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  Result<ChatTemplateConfig> empty = LoadChatTemplateConfig(dir);
  ASSERT_TRUE(empty.ok());
  EXPECT_FALSE(empty->chat_template.has_value());
  std::ofstream(dir + "/tokenizer_config.json") << R"({"eos_token": "</s>", "chat_template": "cfg"})";
  std::ofstream(dir + "/chat_template.jinja") << "file";
  Result<ChatTemplateConfig> r = LoadChatTemplateConfig(dir);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->chat_template, "file");
  EXPECT_EQ(r->template_source, dir + "/chat_template.jinja");
  std::ofstream(dir + "/tokenizer_config.json") << R"({"chat_template": 1})";
  EXPECT_NE(LoadChatTemplateConfig(dir).status().message().find("tokenizer_config.json: field 'chat_template'"),
            std::string::npos);
}

}  // namespace
}  // namespace aftune
