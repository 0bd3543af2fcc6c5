#include "train/dataset.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <unistd.h>
#include <vector>

#include "base/file.h"
#include "tensor/cross_entropy.h"

namespace aftune {
namespace {

constexpr int32_t kBos = ByteTokenizer::kBos, kEos = ByteTokenizer::kEos, kIg = kIgnoreIndex;

DatasetOptions Opts(int64_t max_seq_len = 64, OverflowPolicy p = OverflowPolicy::kReject) {
  DatasetOptions o;
  o.max_seq_len = max_seq_len;
  o.overflow = p;
  return o;
}

Result<Dataset> Parse(const std::string& text, DatasetOptions o = Opts()) {
  return ParseJsonlDataset(text, "data.jsonl", ByteTokenizer(), o);
}

// The dataset of `text`, which must parse.
Dataset MustParse(const std::string& text, DatasetOptions o = Opts()) {
  Result<Dataset> r = Parse(text, o);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(r).value() : Dataset();
}

std::vector<int32_t> Bytes(const std::string& s) {
  std::vector<int32_t> v;
  for (unsigned char c : s) v.push_back(c);
  return v;
}

std::vector<int32_t> Cat(std::initializer_list<std::vector<int32_t>> parts) {
  std::vector<int32_t> v;
  for (const auto& p : parts) v.insert(v.end(), p.begin(), p.end());
  return v;
}

std::vector<uint8_t> Mask(std::initializer_list<std::pair<size_t, uint8_t>> runs) {
  std::vector<uint8_t> v;
  for (auto [n, s] : runs) v.insert(v.end(), n, s);
  return v;
}

// The error of parsing `text`, which must fail.
std::string ErrorOf(const std::string& text, DatasetOptions o = Opts()) {
  Result<Dataset> r = Parse(text, o);
  EXPECT_FALSE(r.ok()) << "parsed: " << text;
  if (r.ok()) return "";
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  return r.status().message();
}

// ---- shapes and exact layouts (byte tokenizer) ----

TEST(Dataset, TextLayout) {
  Dataset ds = MustParse("{\"text\":\"hi\"}\n");
  ASSERT_EQ(ds.size(), 1);
  EXPECT_EQ(ds.shape, DatasetShape::kText);
  EXPECT_EQ(ds.source, "data.jsonl");
  const Example& e = ds.examples[0];
  EXPECT_EQ(e.tokens, (std::vector<int32_t>{256, 104, 105, 257}));
  EXPECT_EQ(e.scored, (std::vector<uint8_t>{0, 1, 1, 1}));
  EXPECT_EQ(e.line, 1);
  EXPECT_FALSE(e.truncated);
  EXPECT_EQ(e.num_scored(), 3);
}

TEST(Dataset, PromptCompletionLayout) {
  Dataset ds = MustParse("{\"prompt\":\"ab\",\"completion\":\"c\"}\n{\"completion\":\"xy\",\"prompt\":\"\"}");
  ASSERT_EQ(ds.size(), 2);
  EXPECT_EQ(ds.shape, DatasetShape::kPromptCompletion);
  EXPECT_EQ(ds.examples[0].tokens, (std::vector<int32_t>{256, 97, 98, 99, 257}));
  EXPECT_EQ(ds.examples[0].scored, (std::vector<uint8_t>{0, 0, 0, 1, 1}));
  // An empty prompt is allowed: like a text example.
  EXPECT_EQ(ds.examples[1].tokens, (std::vector<int32_t>{256, 120, 121, 257}));
  EXPECT_EQ(ds.examples[1].scored, (std::vector<uint8_t>{0, 1, 1, 1}));
  EXPECT_EQ(ds.examples[1].line, 2);
}

TEST(Dataset, MessagesLayoutIsTheChatTemplate) {
  Dataset ds = MustParse(
      R"({"messages":[{"role":"system","content":"S"},{"role":"user","content":"Hi"},)"
      R"({"role":"assistant","content":"Yo"},{"role":"user","content":"More"},)"
      R"({"content":"No","role":"assistant"}]})");
  ASSERT_EQ(ds.size(), 1);
  EXPECT_EQ(ds.shape, DatasetShape::kMessages);
  const std::string p0 = "[INST] <<SYS>>\nS\n<</SYS>>\n\nHi [/INST]", p1 = "[INST] More [/INST]";
  EXPECT_EQ(ds.examples[0].tokens, Cat({{kBos}, Bytes(p0), Bytes("Yo"), {kEos}, {kBos}, Bytes(p1), Bytes("No"),
                                        {kEos}}));
  EXPECT_EQ(ds.examples[0].scored,
            Mask({{1 + p0.size(), 0}, {3, 1}, {1 + p1.size(), 0}, {3, 1}}));
}

TEST(Dataset, Utf8TextAndEscapesGiveTheSameBytes) {
  Dataset ds = MustParse("{\"text\":\"\xC3\xA9\xF0\x9F\x98\x80\"}\n{\"text\":\"\\u00e9\\ud83d\\ude00\"}\n"
                         "{\"text\":\"a\\u0000b\\n\\\"\"}\n");
  const std::vector<int32_t> want = {kBos, 0xC3, 0xA9, 0xF0, 0x9F, 0x98, 0x80, kEos};
  EXPECT_EQ(ds.examples[0].tokens, want);
  EXPECT_EQ(ds.examples[1].tokens, want);
  EXPECT_EQ(ds.examples[2].tokens, (std::vector<int32_t>{kBos, 'a', 0, 'b', '\n', '"', kEos}));
}

TEST(Dataset, OtherTopLevelKeysAreIgnored) {
  Dataset ds = MustParse(R"({"id":7,"meta":{"source":["x",1,null]},"text":"a"})");
  EXPECT_EQ(ds.examples[0].tokens, (std::vector<int32_t>{kBos, 'a', kEos}));
}

// Example i is the i-th non-empty line, as the dataset digest's leaves
// (commit/digest.h): LF splits, a CR right before LF is the ending, empty
// lines are skipped, line numbers count every line.
TEST(Dataset, ExamplesAreTheNonEmptyLinesInOrder) {
  Dataset ds = MustParse(
      "\n"
      "{\"text\":\"a\"}\r\n"
      "\r\n"
      "\n"
      "{\"text\":\"b\"}\r\r\n"          // the first CR is content: JSON whitespace
      "{\"text\":\"c\\r\"}\n"
      "{\"text\":\"d\"}");              // no final newline
  ASSERT_EQ(ds.size(), 4);
  const int64_t lines[] = {2, 5, 6, 7};
  const int32_t first[] = {'a', 'b', 'c', 'd'};
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(ds.examples[i].line, lines[i]);
    EXPECT_EQ(ds.examples[i].tokens[1], first[i]);
  }
  EXPECT_EQ(ds.examples[2].tokens, (std::vector<int32_t>{kBos, 'c', '\r', kEos}));
  // A final line ending in CR without LF: the CR is content (JSON whitespace).
  EXPECT_EQ(MustParse("{\"text\":\"a\"}\r").size(), 1);
}

TEST(Dataset, DeterministicAndIndependentOfOtherLines) {
  const std::string a = "{\"text\":\"one\"}\n{\"text\":\"two\"}\n";
  Dataset x = MustParse(a), y = MustParse(a), z = MustParse("{\"text\":\"two\"}\n");
  ASSERT_EQ(x.size(), 2);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(x.examples[i].tokens, y.examples[i].tokens);
    EXPECT_EQ(x.examples[i].scored, y.examples[i].scored);
  }
  EXPECT_EQ(x.examples[1].tokens, z.examples[0].tokens);
}

// A tokenizer unlike the byte one: BOS 1, EOS 2, and each Encode call starts
// with a marker id 3 (as SentencePiece's dummy prefix), then char + 10.
class MarkerTokenizer final : public Tokenizer {
 public:
  std::string_view kind() const override { return "marker"; }
  std::vector<int32_t> Encode(std::string_view text) const override {
    std::vector<int32_t> ids{3};
    for (unsigned char c : text) ids.push_back(c + 10);
    return ids;
  }
  std::string Decode(std::span<const int32_t>) const override { return ""; }
  int32_t bos_id() const override { return 1; }
  int32_t eos_id() const override { return 2; }
  int32_t pad_id() const override { return -1; }
  int64_t vocab_size() const override { return 266; }
  const std::string& path() const override { return none_; }
  const std::string& file_bytes() const override { return none_; }

 private:
  std::string none_;
};

TEST(Dataset, UsesTheTokenizersSpecialIdsAndEncodesPromptAndCompletionJoined) {
  MarkerTokenizer t;
  // One Encode of "ab" (one leading marker, as transformers encodes prompt +
  // completion), the prompt's |Encode("a")| = 2 ids not scored.
  auto r = ParseJsonlDataset("{\"prompt\":\"a\",\"completion\":\"b\"}", "m.jsonl", t, Opts());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->examples[0].tokens, (std::vector<int32_t>{1, 3, 'a' + 10, 'b' + 10, 2}));
  EXPECT_EQ(r->examples[0].scored, (std::vector<uint8_t>{0, 0, 0, 1, 1}));
  r = ParseJsonlDataset("{\"text\":\"a\"}", "m.jsonl", t, Opts());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->examples[0].tokens, (std::vector<int32_t>{1, 3, 'a' + 10, 2}));
  EXPECT_EQ(r->examples[0].scored, (std::vector<uint8_t>{0, 1, 1, 1}));
}

// ---- length ----

TEST(Dataset, ExactlyMaxSeqLenIsKept) {
  Dataset ds = MustParse("{\"text\":\"ab\"}", Opts(4, OverflowPolicy::kReject));
  EXPECT_EQ(ds.examples[0].tokens.size(), 4u);
  EXPECT_FALSE(ds.examples[0].truncated);
  EXPECT_EQ(ds.num_truncated, 0);
}

TEST(Dataset, RejectPolicyNamesTheLineAndLength) {
  EXPECT_EQ(ErrorOf("{\"text\":\"ab\"}\n\n{\"text\":\"abcdef\"}\n", Opts(4, OverflowPolicy::kReject)),
            "data.jsonl:3: the example is 8 tokens, more than max_seq_len 4 (overflow policy 'reject')");
}

TEST(Dataset, TruncatePolicyKeepsTheFirstTokensAndCountsThem) {
  Dataset ds = MustParse("{\"text\":\"abcdef\"}\n{\"text\":\"ab\"}\n{\"text\":\"abc\"}", Opts(4, OverflowPolicy::kTruncate));
  ASSERT_EQ(ds.size(), 3);
  EXPECT_EQ(ds.examples[0].tokens, (std::vector<int32_t>{kBos, 'a', 'b', 'c'}));  // EOS lost
  EXPECT_EQ(ds.examples[0].scored, (std::vector<uint8_t>{0, 1, 1, 1}));
  EXPECT_TRUE(ds.examples[0].truncated);
  EXPECT_FALSE(ds.examples[1].truncated);
  EXPECT_TRUE(ds.examples[2].truncated);
  EXPECT_EQ(ds.examples[2].tokens, (std::vector<int32_t>{kBos, 'a', 'b', 'c'}));
  EXPECT_EQ(ds.num_truncated, 2);
  ds = MustParse("{\"prompt\":\"ab\",\"completion\":\"cd\"}", Opts(4, OverflowPolicy::kTruncate));
  EXPECT_EQ(ds.examples[0].tokens, (std::vector<int32_t>{kBos, 'a', 'b', 'c'}));
  EXPECT_EQ(ds.examples[0].scored, (std::vector<uint8_t>{0, 0, 0, 1}));
}

TEST(Dataset, TruncationThatLeavesNothingScoredIsAnError) {
  EXPECT_EQ(ErrorOf("{\"prompt\":\"abc\",\"completion\":\"d\"}", Opts(4, OverflowPolicy::kTruncate)),
            "data.jsonl:1: no token is scored after truncation to max_seq_len 4 (of 6 tokens)");
}

TEST(Dataset, MaxSeqLenBelowTwoIsAnError) {
  EXPECT_EQ(ErrorOf("{\"text\":\"a\"}", Opts(1)), "max_seq_len must be at least 2 (BOS and one token), not 1");
  EXPECT_EQ(ErrorOf("{\"text\":\"a\"}", Opts(0)), "max_seq_len must be at least 2 (BOS and one token), not 0");
}

TEST(Dataset, MaxSeqLenTwoKeepsBosAndOneScoredToken) {
  Dataset ds = MustParse("{\"text\":\"abc\"}", Opts(2, OverflowPolicy::kTruncate));
  EXPECT_EQ(ds.examples[0].tokens, (std::vector<int32_t>{kBos, 'a'}));
  EXPECT_EQ(ds.examples[0].scored, (std::vector<uint8_t>{0, 1}));
}

// ---- bad lines: every kind names the file, the line and the field ----

struct BadLine {
  std::string line;
  std::string error;  // expected message after "data.jsonl:3: " (a prefix of it)
};

TEST(Dataset, EveryBadLineKindNamesFileLineAndField) {
  const std::vector<BadLine> cases = {
      // Not JSON / not an object.
      {"{\"text\": \"a\"", "not valid JSON: "},
      {"{\"text\":\"a\"} x", "not valid JSON: "},
      {"{\"text\":\"a\"}{\"text\":\"b\"}", "not valid JSON: "},
      {"{\"text\":\"a\"} // comment", "not valid JSON: "},
      {"{'text':'a'}", "not valid JSON: "},
      {"{\"text\":\"a\",}", "not valid JSON: "},
      {"   ", "not valid JSON: "},
      {"\t", "not valid JSON: "},
      {"\"text\"", "not a JSON object"},
      {"[{\"text\":\"a\"}]", "not a JSON object"},
      {"42", "not a JSON object"},
      {"null", "not a JSON object"},
      // Shape.
      {"{}", "no field 'text', 'prompt'/'completion' or 'messages'"},
      {"{\"id\":1,\"Text\":\"a\"}", "no field 'text', 'prompt'/'completion' or 'messages'"},
      {"{\"text\":\"a\",\"completion\":\"b\"}", "the line mixes shapes: it has 'text' 'prompt'/'completion' fields"},
      {"{\"text\":\"a\",\"messages\":[]}", "the line mixes shapes"},
      // Missing fields, wrong types, empty values.
      {"{\"prompt\":\"a\"}", "field 'completion' is missing"},
      {"{\"completion\":\"a\"}", "field 'prompt' is missing"},
      {"{\"text\":5}", "field 'text' must be a non-empty string"},
      {"{\"text\":null}", "field 'text' must be a non-empty string"},
      {"{\"text\":[\"a\"]}", "field 'text' must be a non-empty string"},
      {"{\"text\":\"\"}", "field 'text' must be a non-empty string"},
      {"{\"prompt\":null,\"completion\":\"b\"}", "field 'prompt' must be a string"},
      {"{\"prompt\":1,\"completion\":\"b\"}", "field 'prompt' must be a string"},
      {"{\"prompt\":\"a\",\"completion\":\"\"}", "field 'completion' must be a non-empty string"},
      {"{\"prompt\":\"a\",\"completion\":true}", "field 'completion' must be a non-empty string"},
      {"{\"messages\":{}}", "field 'messages' must be a non-empty array"},
      {"{\"messages\":[]}", "field 'messages' must be a non-empty array"},
      {"{\"messages\":\"hi\"}", "field 'messages' must be a non-empty array"},
      {"{\"messages\":[\"hi\"]}", "field 'messages[0]' must be an object"},
      {"{\"messages\":[{\"role\":\"user\",\"content\":\"a\"},[]]}", "field 'messages[1]' must be an object"},
      {"{\"messages\":[{\"content\":\"a\"}]}", "field 'messages[0].role' is missing"},
      {"{\"messages\":[{\"role\":\"user\"}]}", "field 'messages[0].content' is missing"},
      {"{\"messages\":[{\"role\":1,\"content\":\"a\"}]}", "field 'messages[0].role' must be a string"},
      {"{\"messages\":[{\"role\":\"user\",\"content\":null}]}",
       "field 'messages[0].content' must be a non-empty string"},
      {"{\"messages\":[{\"role\":\"user\",\"content\":\"\"}]}",
       "field 'messages[0].content' must be a non-empty string"},
      {"{\"messages\":[{\"role\":\"user\",\"content\":\"a\",\"name\":\"bob\"}]}",
       "field 'messages[0].name' is not allowed (a message holds only 'role' and 'content')"},
      {"{\"messages\":[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"assistant\",\"content\":\"b\",\"weight\":0}]}",
       "field 'messages[1].weight' is not allowed"},
      // Conversation grammar (model/chat_template.h).
      {"{\"messages\":[{\"role\":\"user\",\"content\":\"a\"}]}",
       "field 'messages' must end with an 'assistant' message, not a 'user' one"},
      {"{\"messages\":[{\"role\":\"assistant\",\"content\":\"a\"}]}",
       "field 'messages[0].role' must be 'user' after the start, not 'assistant'"},
      {"{\"messages\":[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"bot\",\"content\":\"b\"}]}",
       "field 'messages[1].role' must be 'system', 'user' or 'assistant', not 'bot'"},
      {"{\"messages\":[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"system\",\"content\":\"b\"}]}",
       "field 'messages[1].role': a 'system' message may only come first"},
      // Bytes: UTF-8, BOM, NUL, repeated keys, depth.
      {"{\"text\":\"a\xFF\"}", "not valid UTF-8: byte 0xff at column 11"},
      {"{\"text\":\"\xC0\x80\"}", "not valid UTF-8: byte 0xc0 at column 10"},         // overlong NUL
      {"{\"text\":\"\xE0\x80\xAF\"}", "not valid UTF-8: byte 0xe0 at column 10"},     // overlong '/'
      {"{\"text\":\"\xED\xA0\x80\"}", "not valid UTF-8: byte 0xed at column 10"},     // surrogate D800
      {"{\"text\":\"\xF4\x90\x80\x80\"}", "not valid UTF-8: byte 0xf4 at column 10"}, // above U+10FFFF
      {"{\"text\":\"\xF5\x80\x80\x80\"}", "not valid UTF-8: byte 0xf5 at column 10"},
      {"{\"text\":\"\xC3\"}", "not valid UTF-8: byte 0xc3 at column 10"},             // cut sequence
      {"{\"text\":\"a\"}\xE2\x82", "not valid UTF-8: byte 0xe2 at column 13"},         // cut at line end
      {"{\"text\":\"\x80\"}", "not valid UTF-8: byte 0x80 at column 10"},             // lone continuation
      {"\xEF\xBB\xBF{\"text\":\"a\"}", "starts with a byte order mark (U+FEFF)"},
      {std::string("{\"text\":\"a\"}\0", 13), "not valid JSON: NUL byte at byte 12"},
      {std::string("{\"text\":\"a\0b\"}", 14), "not valid JSON: NUL byte at byte 10"},
      {"{\"text\":\"\\ud800\"}", "not valid JSON: "},                                  // lone surrogate escape
      {"{\"text\":\"a\\x41\"}", "not valid JSON: "},
      {"{\"text\":\"a\tb\"}", "not valid JSON: "},                                     // raw control character
      {"{\"text\":\"a\",\"text\":\"b\"}", "key 'text' appears twice"},
      {"{\"id\":1,\"id\":2,\"text\":\"a\"}", "key 'id' appears twice"},
      {"{\"messages\":[{\"role\":\"user\",\"role\":\"user\",\"content\":\"a\"}]}", "key 'messages[0].role' appears twice"},
      {"{\"messages\":[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"assistant\",\"content\":\"b\",\"content\":\"c\"}]}",
       "key 'messages[1].content' appears twice"},
      {"{\"id\":" + std::string(16, '[') + std::string(16, ']') + ",\"text\":\"a\"}",
       "nested more than 16 levels deep"},
  };
  for (const BadLine& c : cases) {
    // Two good lines of the bad line's shape and an empty one first: the
    // bad line is line 4.
    std::string good = "{\"text\":\"ok\"}";
    if (c.line.find("\"messages\"") != std::string::npos) {
      good = R"({"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"a"}]})";
    } else if (c.line.find("\"text\"") == std::string::npos &&
               (c.line.find("\"prompt\"") != std::string::npos || c.line.find("\"completion\"") != std::string::npos)) {
      good = "{\"prompt\":\"p\",\"completion\":\"c\"}";
    }
    const std::string file = good + "\n\n" + good + "\n" + c.line + "\n" + good + "\n";
    const std::string msg = ErrorOf(file);
    const std::string want = "data.jsonl:4: " + c.error;
    EXPECT_EQ(msg.substr(0, want.size()), want) << "line: " << c.line;
  }
}

TEST(Dataset, NestingUpToTheLimitIsFine) {
  // Top object (depth 0) + 15 arrays: the deepest opens at depth 15.
  MustParse("{\"id\":" + std::string(15, '[') + std::string(15, ']') + ",\"text\":\"a\"}");
}

TEST(Dataset, AFileUsesOneShapeThroughout) {
  EXPECT_EQ(ErrorOf("\n{\"text\":\"a\"}\n{\"prompt\":\"p\",\"completion\":\"c\"}\n"),
            "data.jsonl:3: shape 'prompt-completion' differs from the file's 'text' (line 2); "
            "a file uses one shape throughout");
  EXPECT_EQ(
      ErrorOf("{\"prompt\":\"p\",\"completion\":\"c\"}\n"
              "{\"messages\":[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"assistant\",\"content\":\"b\"}]}"),
      "data.jsonl:2: shape 'messages' differs from the file's 'prompt-completion' (line 1); "
      "a file uses one shape throughout");
}

TEST(Dataset, AFileWithoutExamplesIsAnError) {
  for (const std::string& text : {std::string(), std::string("\n"), std::string("\r\n\n\r\n")}) {
    EXPECT_EQ(ErrorOf(text), "data.jsonl: no examples (the file has no non-empty line)");
  }
}

TEST(Dataset, LoadFromAFileNamesThePath) {
  const std::string dir =
      (std::filesystem::temp_directory_path() / ("aftune-ds-" + std::to_string(::getpid()))).string();
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/train.jsonl";
  ASSERT_TRUE(WriteFileAtomic(path, "{\"text\":\"a\"}\n{\"text\":\"\"}\n").ok());
  Result<Dataset> r = LoadJsonlDataset(path, ByteTokenizer(), Opts());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), path + ":2: field 'text' must be a non-empty string");
  ASSERT_TRUE(WriteFileAtomic(path, "{\"text\":\"a\"}\n").ok());
  r = LoadJsonlDataset(path, ByteTokenizer(), Opts());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->source, path);
  r = LoadJsonlDataset(dir + "/missing.jsonl", ByteTokenizer(), Opts());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find(dir + "/missing.jsonl"), std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST(Dataset, OverflowPolicyNames) {
  EXPECT_EQ(OverflowPolicyName(OverflowPolicy::kReject), "reject");
  EXPECT_EQ(OverflowPolicyName(OverflowPolicy::kTruncate), "truncate");
  EXPECT_EQ(*ParseOverflowPolicy("reject"), OverflowPolicy::kReject);
  EXPECT_EQ(*ParseOverflowPolicy("truncate"), OverflowPolicy::kTruncate);
  EXPECT_FALSE(ParseOverflowPolicy("Truncate").ok());
  EXPECT_FALSE(ParseOverflowPolicy("").ok());
  EXPECT_EQ(DatasetShapeName(DatasetShape::kText), "text");
  EXPECT_EQ(DatasetShapeName(DatasetShape::kPromptCompletion), "prompt-completion");
  EXPECT_EQ(DatasetShapeName(DatasetShape::kMessages), "messages");
}

// ---- training batches ----

TEST(TrainingBatch, InputsTargetsAndMaskExactly) {
  Dataset ds = MustParse("{\"prompt\":\"ab\",\"completion\":\"c\"}\n{\"prompt\":\"\",\"completion\":\"xy\"}\n");
  PackedBatch b = MakeTrainingBatch(ds, {1, 0, 1});
  // Example 1: BOS x y EOS, scored 0 1 1 1 -> inputs BOS x y, targets x y EOS.
  // Example 0: BOS a b c EOS, scored 0 0 0 1 1 -> inputs BOS a b c, targets ig ig c EOS.
  EXPECT_EQ(b.tokens, (std::vector<int32_t>{kBos, 'x', 'y', kBos, 'a', 'b', 'c', kBos, 'x', 'y'}));
  EXPECT_EQ(b.targets, (std::vector<int32_t>{'x', 'y', kEos, kIg, kIg, 'c', kEos, 'x', 'y', kEos}));
  EXPECT_EQ(b.positions, (std::vector<int32_t>{0, 1, 2, 0, 1, 2, 3, 0, 1, 2}));
  EXPECT_EQ(b.starts, (std::vector<int64_t>{0, 3, 7, 10}));
  EXPECT_EQ(b.num_sequences(), 3);
  EXPECT_EQ(CountScoredTargets(b), 8);
  EXPECT_EQ(CountScoredTargets(b), ds.examples[1].num_scored() * 2 + ds.examples[0].num_scored());
}

TEST(TrainingBatch, MessagesMaskOnlyAssistantTokens) {
  Dataset ds = MustParse(
      R"({"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"A"},)"
      R"({"role":"user","content":"r"},{"role":"assistant","content":"B"}]})");
  PackedBatch b = MakeTrainingBatch(ds, {0});
  const Example& e = ds.examples[0];
  ASSERT_EQ(b.targets.size(), e.tokens.size() - 1);
  std::vector<int32_t> scored_targets;
  for (int32_t t : b.targets)
    if (t != kIg) scored_targets.push_back(t);
  EXPECT_EQ(scored_targets, (std::vector<int32_t>{'A', kEos, 'B', kEos}));
  EXPECT_EQ(CountScoredTargets(b), 4);
}

TEST(TrainingBatch, EmptyIndexListGivesAnEmptyBatch) {
  Dataset ds = MustParse("{\"text\":\"a\"}");
  PackedBatch b = MakeTrainingBatch(ds, {});
  EXPECT_EQ(b.num_tokens(), 0);
  EXPECT_EQ(b.num_sequences(), 0);
  EXPECT_EQ(CountScoredTargets(b), 0);
}

TEST(TrainingBatchDeathTest, IndexOutOfRangeAborts) {
  Dataset ds = MustParse("{\"text\":\"a\"}");
  EXPECT_DEATH(MakeTrainingBatch(ds, {1}), "internal check failed");
  EXPECT_DEATH(MakeTrainingBatch(ds, {-1}), "internal check failed");
}

}  // namespace
}  // namespace aftune

namespace aftune {
namespace {

// A model's own chat template for messages lines: the rendered text, the
// loss on the assistant turns (model/chat_encode.h); other keys of a message
// (here a tool call) reach the template.
TEST(Dataset, MessagesWithTheModelsChatTemplate) {
  ChatTemplateConfig cfg;
  cfg.chat_template =
      "{% for m in messages %}<{{ m.role }}>{{ m.content }}{% if m.tool_calls %}{{ m.tool_calls | tojson }}{% endif %}"
      "{{ eos_token }}{% endfor %}{% if add_generation_prompt %}<assistant>{% endif %}";
  cfg.template_source = "test";
  cfg.special_tokens = {{"eos_token", "|"}};
  Result<ChatRenderer> chat = ChatRenderer::Create(cfg);
  ASSERT_TRUE(chat.ok()) << chat.status().ToString();
  DatasetOptions opts{64, OverflowPolicy::kReject, std::make_shared<const ChatRenderer>(*chat)};
  ByteTokenizer byte;
  Result<Dataset> r = ParseJsonlDataset(
      R"({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo", "tool_calls": [{"z": 1, "a": 2}]}]})",
      "chat.jsonl", byte, opts);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::string all, scored;
  for (size_t i = 0; i < r->examples[0].tokens.size(); ++i) {
    all += static_cast<char>(r->examples[0].tokens[i]);
    if (r->examples[0].scored[i]) scored += static_cast<char>(r->examples[0].tokens[i]);
  }
  EXPECT_EQ(all, "<user>hi|<assistant>yo[{\"z\": 1, \"a\": 2}]|");  // key order as written
  EXPECT_EQ(scored, "yo[{\"z\": 1, \"a\": 2}]|");
  r = ParseJsonlDataset(R"({"messages": [{"role": "user", "content": "hi"}]})", "chat.jsonl", byte, opts);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "chat.jsonl:1: field 'messages' has no assistant turn to train on");
  r = ParseJsonlDataset(R"({"messages": [{"content": "hi"}]})", "chat.jsonl", byte, opts);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "chat.jsonl:1: field 'messages[0]' must be an object with a string 'role'");
}

}  // namespace
}  // namespace aftune
