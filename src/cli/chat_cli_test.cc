// aftune chat render, against python3-jinja2 rendering the same
// tokenizer_config.json under transformers' settings (tests/oracle/chat_template_ref.py).
#include <gtest/gtest.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/cli_test_util.h"

namespace aftune {
namespace {

using testing::ReadBytes;
using testing::RunAftune;
using testing::TestDir;
using testing::WriteText;

std::string Template(const std::string& file) {
  return ReadBytes(std::string(AFTUNE_SOURCE_DIR) + "/tests/data/templates/" + file);
}

// A model directory holding only tokenizer_config.json (chat render reads nothing else).
std::string ModelDir(const std::string& tag, const nlohmann::ordered_json& config) {
  std::string dir = TestDir(tag);
  WriteText(dir + "/tokenizer_config.json", config.dump(2));
  return dir;
}

const char* kMessages = R"([
  {"role": "system", "content": "  Réponds en français.  "},
  {"role": "user", "content": "Quelle est la capitale de l'Italie ? 🇮🇹"},
  {"role": "assistant", "content": "Rome."},
  {"role": "user", "content": "Et de la France ?\n"}
])";

TEST(ChatRenderCli, PrintsExactlyWhatTransformersRenders) {
  if (std::system(AFTUNE_PYTHON " -c 'import jinja2' 2>/dev/null") != 0) GTEST_SKIP() << "python3-jinja2 missing";
  nlohmann::ordered_json qwen = {{"bos_token", nullptr},
                                 {"eos_token", {{"content", "<|im_end|>"}, {"lstrip", false}, {"special", true}}},
                                 {"pad_token", "<|endoftext|>"},
                                 {"chat_template",
                                  {{{"name", "default"}, {"template", Template("Qwen-Qwen2.5-Instruct.jinja")}},
                                   {{"name", "rag"}, {"template", "unused"}}}}};
  nlohmann::ordered_json llama = {{"bos_token", "<|begin_of_text|>"},
                                  {"eos_token", "<|eot_id|>"},
                                  {"chat_template", Template("meta-llama-Meta-Llama-3-Instruct.jinja")}};
  for (const auto& [name, config] : {std::pair{"qwen", qwen}, std::pair{"llama", llama}}) {
    std::string dir = ModelDir(std::string("render-") + name, config);
    WriteText(dir + "/messages.json", kMessages);
    for (bool agp : {false, true}) {
      std::string flag = agp ? " --add-generation-prompt" : "";
      testing::CommandResult r = RunAftune("chat render --model " + dir + " --messages " + dir + "/messages.json" +
                                           flag + " > " + dir + "/got.txt");
      ASSERT_EQ(r.exit_code, 0) << r.output << ReadBytes(dir + "/got.txt");
      std::string cmd = std::string(AFTUNE_PYTHON) + " " + AFTUNE_SOURCE_DIR +
                        "/tests/oracle/chat_template_ref.py render " + dir + "/tokenizer_config.json " + dir +
                        "/messages.json " + (agp ? "1" : "0") + " " + dir + "/want.txt";
      ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
      std::string want = ReadBytes(dir + "/want.txt");
      EXPECT_EQ(ReadBytes(dir + "/got.txt"), want) << name << flag;
      EXPECT_NE(want.find("Rome."), std::string::npos);
    }
  }
}

TEST(ChatRenderCli, ChatTemplateJinjaFileTakesPrecedence) {
  std::string dir = ModelDir("jinja-file", {{"eos_token", "</s>"}, {"chat_template", "from config"}});
  WriteText(dir + "/chat_template.jinja",
            "{% for m in messages %}{{ m.role }}:{{ m.content }}{{ eos_token }}{% endfor %}\n");
  WriteText(dir + "/m.json", R"([{"role": "user", "content": "hi"}])");
  testing::CommandResult r = RunAftune("chat render --model " + dir + " --messages " + dir + "/m.json");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.output, "user:hi</s>");  // the template's trailing newline is dropped, as Jinja does
}

TEST(ChatRenderCli, ErrorsNameTheTemplateLineOrTheFile) {
  std::string dir = ModelDir("errors", {{"bos_token", "<s>"},
                                        {"eos_token", "</s>"},
                                        {"chat_template", Template("mistralai-Mistral-Nemo-Instruct-2407.jinja")}});
  WriteText(dir + "/bad.json", R"([{"role": "user", "content": "a"}, {"role": "user", "content": "b"}])");
  testing::CommandResult r = RunAftune("chat render --model " + dir + " --messages " + dir + "/bad.json");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("tokenizer_config.json: chat_template: template line 18: raise_exception: After the "
                          "optional system message, conversation roles must alternate"),
            std::string::npos)
      << r.output;

  WriteText(dir + "/notarray.json", R"({"role": "user"})");
  r = RunAftune("chat render --model " + dir + " --messages " + dir + "/notarray.json");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("must be a JSON array of messages"), std::string::npos) << r.output;

  std::string bare = ModelDir("bare", {{"eos_token", "</s>"}});
  r = RunAftune("chat render --model " + bare + " --messages " + dir + "/bad.json");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("has no chat template"), std::string::npos) << r.output;

  std::string broken = ModelDir("broken", {{"chat_template", "line one\n{% for x in y %}never closed"}});
  r = RunAftune("chat render --model " + broken + " --messages " + dir + "/bad.json");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("chat_template: template line 2: unexpected end of template"), std::string::npos) << r.output;

  EXPECT_EQ(RunAftune("chat render --model " + dir).exit_code, 2);  // --messages is required
}

}  // namespace
}  // namespace aftune
