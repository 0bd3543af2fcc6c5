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

  // The strict reader's refusals name the file and the key's path.
  WriteText(dir + "/dup.json", R"([{"role": "user", "content": "a"}, {"role": "assistant", "role": "user"}])");
  r = RunAftune("chat render --model " + dir + " --messages " + dir + "/dup.json");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find(dir + "/dup.json: key '[1].role' appears twice"), std::string::npos) << r.output;
  WriteText(dir + "/cut.json", "[{\"role\": \"user\",\n \"content\": \"a\"");
  r = RunAftune("chat render --model " + dir + " --messages " + dir + "/cut.json");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find(dir + "/cut.json: not valid JSON: parse error at line 2"), std::string::npos) << r.output;

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

// A base model with its own chat template, a messages dataset: the contract
// binds the template, training renders it, and the audit (which re-tokenizes
// the dataset with the same template) passes; an edited template afterwards
// is a named contract mismatch.
TEST(ChatTemplateTraining, ContractTrainAndAuditUseTheModelsTemplate) {
  std::string d = TestDir("chat-train");
  ASSERT_EQ(RunAftune("model init --preset tiny --seed 3 --out " + d + "/base").exit_code, 0);
  nlohmann::ordered_json tc = {{"bos_token", "<s>"},
                               {"eos_token", "</s>"},
                               {"chat_template", Template("HuggingFaceH4-zephyr-7b-beta.jinja")}};
  WriteText(d + "/base/tokenizer_config.json", tc.dump());
  std::string data;
  for (int a = 0; a < 8; ++a) {
    data += R"({"messages": [{"role": "user", "content": ")" + std::to_string(a) + R"(+1?"}, {"role": "assistant", "content": ")" +
            std::to_string(a + 1) + R"("}]})" + "\n";
  }
  WriteText(d + "/data.jsonl", data);
  // The dataset really goes through the template: one that refuses fails the contract.
  WriteText(d + "/base/tokenizer_config.json", R"({"chat_template": "{{ raise_exception('no training here') }}"})");
  auto refused = RunAftune("contract create --base " + d + "/base --data " + d + "/data.jsonl --out " + d + "/x.json");
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.output.find("data.jsonl:1: " + d + "/base/tokenizer_config.json: chat_template: template line 1: "
                                "raise_exception: no training here"),
            std::string::npos)
      << refused.output;
  WriteText(d + "/base/tokenizer_config.json", tc.dump());
  auto c = RunAftune("contract create --base " + d + "/base --data " + d + "/data.jsonl --out " + d +
                     "/contract.json --max_steps 4 --per_device_train_batch_size 2 --max_seq_length 40"
                     " --steps_per_block 2 --checkpoint_interval 1 --layers_per_block 1");
  ASSERT_EQ(c.exit_code, 0) << c.output;
  EXPECT_NE(ReadBytes(d + "/contract.json").find("\"chat_digest\""), std::string::npos);
  ASSERT_EQ(RunAftune("keygen --name example.com/provider --out " + d + "/provider").exit_code, 0);
  auto t = RunAftune("train --contract " + d + "/contract.json --key " + d + "/provider.key --data " + d +
                     "/data.jsonl --model " + d + "/base --out " + d + "/run");
  ASSERT_EQ(t.exit_code, 0) << t.output;
  const std::string audit = "audit train --contract " + d + "/contract.json --commitment " + d +
                            "/run/commitment.note --pub " + d + "/provider.pub --data " + d + "/data.jsonl --model " +
                            d + "/base --run " + d + "/run --samples 2 --nonce 01";
  auto a = RunAftune(audit);
  EXPECT_EQ(a.exit_code, 0) << a.output;
  EXPECT_NE(a.output.find("training audit: PASS"), std::string::npos) << a.output;
  // The template changes (one space): the audit no longer accepts the inputs.
  tc["chat_template"] = Template("HuggingFaceH4-zephyr-7b-beta.jinja") + " ";
  WriteText(d + "/base/tokenizer_config.json", tc.dump());
  a = RunAftune(audit);
  EXPECT_NE(a.exit_code, 0) << a.output;
  EXPECT_NE(a.output.find("chat template"), std::string::npos) << a.output;
}

}  // namespace
}  // namespace aftune
