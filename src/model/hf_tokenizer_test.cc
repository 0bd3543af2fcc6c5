// tokenizer.json: what is refused (and how the error names the JSON path),
// the pre-tokenizer behaviours on the examples of HF's documentation, added
// token options, decoding, and LoadTokenizer's choice of file. The ids of
// the real tokenizers are checked against the JS port in
// hf_tokenizer_oracle_test.cc.
#include "model/hf_tokenizer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <unistd.h>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/file.h"
#include "model/pretokenizer.h"

namespace aftune {
namespace {

using nlohmann::json;

// A small BPE tokenizer: characters a b c - space, merges a b -> ab, ab c -> abc.
json Tiny() {
  return json::parse(R"({
    "version": "1.0", "truncation": null, "padding": null,
    "added_tokens": [{"id": 7, "content": "<eos>", "special": true, "lstrip": false, "rstrip": false,
                      "single_word": false, "normalized": false}],
    "normalizer": null, "pre_tokenizer": null, "post_processor": null, "decoder": null,
    "model": {"type": "BPE", "dropout": null, "unk_token": null, "fuse_unk": false, "byte_fallback": false,
              "vocab": {"a": 0, "b": 1, "c": 2, "-": 3, " ": 4, "ab": 5, "abc": 6},
              "merges": ["a b", ["ab", "c"]]}
  })");
}

Result<std::unique_ptr<HfTokenizer>> Parse(const json& j, HfTokenizer::Ids ids = {0, 7, -1, 0}) {
  return HfTokenizer::FromBytes(j.dump(), "tokenizer.json", ids);
}

std::string ErrorOf(const json& j) {
  auto r = Parse(j);
  EXPECT_FALSE(r.ok());
  return r.ok() ? "" : r.status().message();
}

TEST(HfTokenizer, UnsupportedComponentsNameTheirJsonPath) {
  json j = Tiny();
  j["pre_tokenizer"] = json::parse(R"({"type": "Sequence", "pretokenizers": [
      {"type": "Digits", "individual_digits": true}, {"type": "Punctuation", "behavior": "Isolated"}]})");
  EXPECT_EQ(ErrorOf(j), "tokenizer.json: pre_tokenizer.pretokenizers[1].type: \"Punctuation\" is not supported");
  j = Tiny();
  j["normalizer"] = json::parse(R"({"type": "Sequence", "normalizers": [{"type": "Lowercase"}]})");
  EXPECT_EQ(ErrorOf(j), "tokenizer.json: normalizer.normalizers[0].type: \"Lowercase\" is not supported");
  j = Tiny();
  j["decoder"] = json::parse(R"({"type": "WordPiece", "prefix": "##"})");
  EXPECT_EQ(ErrorOf(j), "tokenizer.json: decoder.type: \"WordPiece\" is not supported");
  j = Tiny();
  j["post_processor"] = json::parse(R"({"type": "BertProcessing", "sep": ["[SEP]", 1], "cls": ["[CLS]", 0]})");
  EXPECT_EQ(ErrorOf(j), "tokenizer.json: post_processor.type: \"BertProcessing\" is not supported");
  j = Tiny();
  j["model"]["type"] = "Unigram";
  EXPECT_EQ(ErrorOf(j), "tokenizer.json: model.type: \"Unigram\" is not supported");
  j = Tiny();
  j["model"]["dropout"] = 0.1;
  EXPECT_NE(ErrorOf(j).find("model.dropout: must be null or 0"), std::string::npos);
  j = Tiny();
  j["truncation"] = json::parse(R"({"max_length": 8})");
  EXPECT_NE(ErrorOf(j).find("tokenizer.json: truncation: must be null"), std::string::npos);
  j = Tiny();
  j["pre_tokenizer"] = json::parse(R"({"type": "Split", "pattern": {"Regex": "(unclosed"}, "behavior": "Isolated"})");
  EXPECT_NE(ErrorOf(j).find("tokenizer.json: pre_tokenizer.pattern.Regex: regex does not compile"), std::string::npos);
}

TEST(HfTokenizer, MalformedModelsAreErrors) {
  json j = Tiny();
  j["model"]["merges"].push_back("a z");
  EXPECT_EQ(ErrorOf(j), "tokenizer.json: model.merges[2]: a token of this merge is not in the vocabulary");
  j = Tiny();
  j["model"]["merges"].push_back("abc");
  EXPECT_EQ(ErrorOf(j), "tokenizer.json: model.merges[2]: must be two tokens separated by one space");
  j = Tiny();
  j["model"]["vocab"]["x"] = 1;
  EXPECT_NE(ErrorOf(j).find("model.vocab[\"x\"]: id 1 is also given to \"b\""), std::string::npos);
  j = Tiny();
  j["model"]["vocab"]["y"] = int64_t{1} << 40;
  EXPECT_NE(ErrorOf(j).find("model.vocab[\"y\"]: id 1099511627776 is out of range"), std::string::npos);
  j = Tiny();
  j["model"]["unk_token"] = "<unk>";
  EXPECT_EQ(ErrorOf(j), "tokenizer.json: model.unk_token: \"<unk>\" is not in the vocabulary");
  j = Tiny();
  j["added_tokens"][0]["content"] = "";
  EXPECT_EQ(ErrorOf(j), "tokenizer.json: added_tokens[0].content: must be non-empty valid UTF-8");
  auto r = HfTokenizer::FromBytes("{\"model\": ", "tokenizer.json", {0, 7, -1, 0});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().rfind("tokenizer.json: not valid JSON", 0), 0u) << r.status().message();
  // Through the strict reader: a repeated key is refused naming its path.
  std::string twice = Tiny().dump();
  twice.replace(twice.find("\"vocab\":{"), 9, "\"vocab\":{\"a\":5,");
  r = HfTokenizer::FromBytes(twice, "tokenizer.json", {0, 7, -1, 0});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "tokenizer.json: key 'model.vocab.a' appears twice");
  // BOS/EOS must be tokens; the model's vocabulary may not be smaller.
  r = Parse(Tiny(), {0, 9, -1, 0});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "tokenizer.json: EOS id 9 is not a token of it");
  r = Parse(Tiny(), {0, 7, -1, 5});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "tokenizer.json: holds ids up to 7, beyond the model's vocab_size 5");
}

TEST(HfTokenizer, MergesByRankAndAddedTokensInText) {
  auto r = Parse(Tiny());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const HfTokenizer& t = *r.value();
  EXPECT_EQ(t.vocab_size(), 8);
  // abc = (a b) c; "abab" = ab ab; the added token is matched in the text.
  EXPECT_EQ(t.Encode("abc"), (std::vector<int32_t>{6}));
  EXPECT_EQ(t.Encode("abab"), (std::vector<int32_t>{5, 5}));
  EXPECT_EQ(t.Encode("cab<eos>a"), (std::vector<int32_t>{2, 5, 7, 0}));
  // No post-processor: nothing added.
  EXPECT_EQ(t.EncodeWithSpecialTokens("a"), (std::vector<int32_t>{0}));
  EXPECT_EQ(t.TokenId("<eos>"), 7);
  EXPECT_EQ(t.TokenId("ab"), 5);
  EXPECT_EQ(t.TokenId("zz"), std::nullopt);
  // No decoder: tokens joined with spaces (HF's default); special skipped.
  EXPECT_EQ(t.Decode(std::vector<int32_t>{5, 2, 7}), "ab c");
}

TEST(HfTokenizer, PaddedVocabularyIdsDecodeToNothing) {
  auto r = Parse(Tiny(), {0, 7, -1, 16});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r.value()->vocab_size(), 16);
  EXPECT_EQ(r.value()->Decode(std::vector<int32_t>{15, 6, 12}), "abc");
}

TEST(HfTokenizer, AddedTokenOptions) {
  // lstrip/rstrip take the neighbouring whitespace; single_word needs non-word
  // neighbours; HF's AddedVocabulary::find_matches.
  json j = Tiny();
  j["added_tokens"] = json::parse(R"([
    {"id": 7, "content": "<L>", "special": true, "lstrip": true, "rstrip": false, "single_word": false, "normalized": false},
    {"id": 8, "content": "<R>", "special": true, "lstrip": false, "rstrip": true, "single_word": false, "normalized": false},
    {"id": 9, "content": "ab", "special": false, "lstrip": false, "rstrip": false, "single_word": true, "normalized": false}])");
  auto r = Parse(j);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const HfTokenizer& t = *r.value();
  EXPECT_EQ(t.Encode("a  <L>  b"), (std::vector<int32_t>{0, 7, 4, 4, 1}));
  EXPECT_EQ(t.Encode("a  <R>  b"), (std::vector<int32_t>{0, 4, 4, 8, 1}));
  // "ab" alone is the added token 9; inside "cabc" it is not (word characters
  // around it), so the model's merges apply.
  EXPECT_EQ(t.Encode("ab-ab"), (std::vector<int32_t>{9, 3, 9}));
  EXPECT_EQ(t.Encode("cabc"), (std::vector<int32_t>{2, 6}));
  // A non-special added token decodes; a special one does not.
  EXPECT_EQ(t.Decode(std::vector<int32_t>{9, 7, 8}), "ab");
  EXPECT_FALSE(t.IsSpecial(9));
  EXPECT_TRUE(t.IsSpecial(7));
}

std::vector<std::string> Pieces(const std::string& pretok_json, const std::string& text) {
  auto p = PreTokenizer::FromJson(json::parse(pretok_json), "tokenizer.json", "pre_tokenizer");
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return p.ok() ? p.value().Apply(text, true) : std::vector<std::string>{};
}

TEST(PreTokenizer, SplitBehaviorsAsHfDocumentsThem) {
  // The example of HF's SplitDelimiterBehavior documentation.
  const std::string text = "the-final--countdown";
  const auto split = [&](const std::string& behavior) {
    return Pieces(R"({"type": "Split", "pattern": {"String": "-"}, "invert": false, "behavior": ")" + behavior + "\"}",
                  text);
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(split("Removed"), (V{"the", "final", "countdown"}));
  EXPECT_EQ(split("Isolated"), (V{"the", "-", "final", "-", "-", "countdown"}));
  EXPECT_EQ(split("MergedWithPrevious"), (V{"the-", "final-", "-", "countdown"}));
  EXPECT_EQ(split("MergedWithNext"), (V{"the", "-final", "-", "-countdown"}));
  EXPECT_EQ(split("Contiguous"), (V{"the", "-", "final", "--", "countdown"}));
  // invert: the matches are the pieces.
  EXPECT_EQ(Pieces(R"({"type": "Split", "pattern": {"Regex": "\\p{L}+"}, "invert": true, "behavior": "Removed"})",
                   "héllo, wörld!"),
            (V{"héllo", "wörld"}));
}

TEST(PreTokenizer, DigitsMetaspaceAndByteLevel) {
  using V = std::vector<std::string>;
  EXPECT_EQ(Pieces(R"({"type": "Digits", "individual_digits": true})", "a123b"), (V{"a", "1", "2", "3", "b"}));
  EXPECT_EQ(Pieces(R"({"type": "Digits", "individual_digits": false})", "a123b45"), (V{"a", "123", "b", "45"}));
  // Metaspace: spaces become U+2581, one is prepended, split before each.
  EXPECT_EQ(Pieces(R"({"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": true})",
                   "Hey friend"),
            (V{"\u2581Hey", "\u2581friend"}));
  EXPECT_EQ(Pieces(R"({"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "never", "split": false})",
                   "Hey friend"),
            (V{"Hey\u2581friend"}));
  // ByteLevel with GPT-2's regex: ' ' is 'Ġ' (U+0120), '\n' is 'Ċ' (U+010A).
  EXPECT_EQ(Pieces(R"({"type": "ByteLevel", "add_prefix_space": false, "use_regex": true})", "Hi there\n"),
            (V{"Hi", "\u0120there", "\u010A"}));
  EXPECT_EQ(Pieces(R"({"type": "ByteLevel", "add_prefix_space": true, "use_regex": false})", "Hi"), (V{"\u0120Hi"}));
}

std::string TempDir(const std::string& tag) {
  std::string dir = (std::filesystem::temp_directory_path() /
                     ("aftune-hftok-" + tag + "-" + std::to_string(::getpid()))).string();
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

TEST(LoadTokenizer, PrefersTokenizerJsonAndTakesIdsFromConfig) {
  const std::string dir = TempDir("load");
  ASSERT_TRUE(WriteFileAtomic(dir + "/tokenizer.json", Tiny().dump()).ok());
  // A tokenizer.model beside it is not read (it is not even a valid one).
  ASSERT_TRUE(WriteFileAtomic(dir + "/tokenizer.model", "not a model").ok());
  ModelConfig cfg;
  cfg.vocab_size = 32;
  cfg.bos_token_id = 0;
  cfg.eos_token_id = 7;
  auto r = LoadTokenizer(dir, cfg);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r.value()->kind(), "tokenizer.json");
  EXPECT_EQ(r.value()->vocab_size(), 32);
  EXPECT_EQ(r.value()->eos_id(), 7);
  EXPECT_EQ(r.value()->path(), dir + "/tokenizer.json");
  EXPECT_EQ(r.value()->file_bytes(), Tiny().dump());
  cfg.eos_token_id = 20;  // not a token
  r = LoadTokenizer(dir, cfg);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), dir + "/tokenizer.json: EOS id 20 is not a token of it");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace aftune
