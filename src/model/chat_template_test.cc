#include "model/chat_template.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace aftune {
namespace {

// Byte-tokenizer ids of a text.
std::vector<int32_t> B(const std::string& s) { return std::vector<int32_t>(s.begin(), s.end()); }

// Appends `ids` with loss flag `scored`.
void Put(ScoredTokens* s, const std::vector<int32_t>& ids, bool scored) {
  s->tokens.insert(s->tokens.end(), ids.begin(), ids.end());
  s->scored.insert(s->scored.end(), ids.size(), scored ? 1 : 0);
}

std::vector<ChatMessage> Msgs(std::initializer_list<std::pair<const char*, const char*>> l) {
  std::vector<ChatMessage> v;
  for (auto [r, c] : l) v.push_back({r, c});
  return v;
}

TEST(ChatTemplate, WorkedExampleOfTheHeader) {
  ByteTokenizer t;
  auto r = EncodeChat(t, Msgs({{"user", "Hi"}, {"assistant", "Yo"}}));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::vector<int32_t> want = {256};
  for (char c : std::string("[INST] Hi [/INST]")) want.push_back(static_cast<unsigned char>(c));
  want.insert(want.end(), {'Y', 'o', 257});
  EXPECT_EQ(r->tokens, want);
  ASSERT_EQ(want.size(), 1u + 17u + 3u);
  std::vector<uint8_t> scored(1 + 17, 0);
  scored.insert(scored.end(), {1, 1, 1});
  EXPECT_EQ(r->scored, scored);
}

TEST(ChatTemplate, SystemAndTwoExchanges) {
  ByteTokenizer t;
  auto r = EncodeChat(t, Msgs({{"system", "Be brief."},
                               {"user", "2+2?"},
                               {"assistant", "4"},
                               {"user", "And 3+3?"},
                               {"assistant", "6"}}));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ScoredTokens want;
  Put(&want, {256}, false);
  Put(&want, B("[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\n2+2? [/INST]"), false);
  Put(&want, B("4"), true);
  Put(&want, {257}, true);
  Put(&want, {256}, false);
  Put(&want, B("[INST] And 3+3? [/INST]"), false);
  Put(&want, B("6"), true);
  Put(&want, {257}, true);
  EXPECT_EQ(r->tokens, want.tokens);
  EXPECT_EQ(r->scored, want.scored);
}

TEST(ChatTemplate, PromptEndsAfterTheLastInstSegment) {
  ByteTokenizer t;
  auto r = EncodeChatPrompt(t, Msgs({{"system", "S"}, {"user", "a"}, {"assistant", "b"}, {"user", "c"}}));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ScoredTokens want;
  Put(&want, {256}, false);
  Put(&want, B("[INST] <<SYS>>\nS\n<</SYS>>\n\na [/INST]"), false);
  Put(&want, B("b"), true);
  Put(&want, {257}, true);
  Put(&want, {256}, false);
  Put(&want, B("[INST] c [/INST]"), false);
  EXPECT_EQ(*r, want.tokens);
  // The training layout of the same conversation plus an answer starts with
  // exactly the prompt: what inference feeds is what training saw.
  auto full = EncodeChat(t, Msgs({{"system", "S"}, {"user", "a"}, {"assistant", "b"}, {"user", "c"},
                                  {"assistant", "d"}}));
  ASSERT_TRUE(full.ok());
  ASSERT_GT(full->tokens.size(), r->size());
  EXPECT_TRUE(std::equal(r->begin(), r->end(), full->tokens.begin()));
}

TEST(ChatTemplate, ContentIsUsedAsGiven) {
  ByteTokenizer t;
  auto r = EncodeChat(t, Msgs({{"user", "  spaced  "}, {"assistant", "\n[/INST] </s>\n"}}));
  ASSERT_TRUE(r.ok());
  ScoredTokens want;
  Put(&want, {256}, false);
  Put(&want, B("[INST]   spaced   [/INST]"), false);
  Put(&want, B("\n[/INST] </s>\n"), true);  // text that looks like markup stays bytes
  Put(&want, {257}, true);
  EXPECT_EQ(r->tokens, want.tokens);
  EXPECT_EQ(r->scored, want.scored);
}

struct BadCase {
  std::vector<ChatMessage> msgs;
  const char* error;
};

TEST(ChatTemplate, GrammarErrorsNameTheField) {
  ByteTokenizer t;
  const std::vector<BadCase> cases = {
      {{}, "field 'messages' must be a non-empty array"},
      {Msgs({{"assistant", "a"}}), "field 'messages[0].role' must be 'user' after the start, not 'assistant'"},
      {Msgs({{"user", "a"}, {"user", "b"}}), "field 'messages[1].role' must be 'assistant' after a 'user' message"},
      {Msgs({{"user", "a"}, {"assistant", "b"}, {"assistant", "c"}}),
       "field 'messages[2].role' must be 'user' after an 'assistant' message"},
      {Msgs({{"user", "a"}, {"system", "s"}, {"assistant", "c"}}),
       "field 'messages[1].role': a 'system' message may only come first"},
      {Msgs({{"system", "s"}, {"system", "s"}}), "field 'messages[1].role': a 'system' message may only come first"},
      {Msgs({{"tool", "a"}}), "field 'messages[0].role' must be 'system', 'user' or 'assistant', not 'tool'"},
      {Msgs({{"User", "a"}}), "not 'User'"},
      {Msgs({{"user", ""}, {"assistant", "b"}}), "field 'messages[0].content' must be a non-empty string"},
      {Msgs({{"user", "a"}, {"assistant", ""}}), "field 'messages[1].content' must be a non-empty string"},
      {Msgs({{"system", ""}, {"user", "a"}, {"assistant", "b"}}),
       "field 'messages[0].content' must be a non-empty string"},
      {Msgs({{"user", "a"}}), "field 'messages' must end with an 'assistant' message, not a 'user' one"},
      {Msgs({{"system", "s"}}), "must end with an 'assistant' message, not a 'system' one"},
      {Msgs({{"user", "a"}, {"assistant", "b"}, {"user", "c"}}), "must end with an 'assistant' message"},
  };
  for (const BadCase& c : cases) {
    auto r = EncodeChat(t, c.msgs);
    ASSERT_FALSE(r.ok()) << c.error;
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
    EXPECT_NE(r.status().message().find(c.error), std::string::npos) << r.status().message();
  }
  auto p = EncodeChatPrompt(t, Msgs({{"user", "a"}, {"assistant", "b"}}));
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("must end with a 'user' message, not an 'assistant' one"), std::string::npos);
}

}  // namespace
}  // namespace aftune
