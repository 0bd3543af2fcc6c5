#include "serve/text_stream.h"

#include <gtest/gtest.h>

namespace aftune {
namespace {

TEST(TextStream, HoldsBackIncompleteUtf8) {
  EXPECT_EQ(CompleteUtf8Prefix("ab"), 2u);
  EXPECT_EQ(CompleteUtf8Prefix("a\xE2\x82"), 1u);      // € cut after 2 of 3 bytes
  EXPECT_EQ(CompleteUtf8Prefix("a\xE2\x82\xAC"), 4u);  // € whole
  EXPECT_EQ(CompleteUtf8Prefix("\xF0\x9F\x98"), 0u);
  EXPECT_EQ(CompleteUtf8Prefix("a\x80"), 2u);  // a stray continuation byte completes nothing: sent as is
  TextStream s({});
  EXPECT_EQ(s.Push("a\xE2"), "a");
  EXPECT_EQ(s.Push("a\xE2\x82"), "");
  EXPECT_EQ(s.Push("a\xE2\x82\xAC!"), "\xE2\x82\xAC!");
  EXPECT_EQ(s.Finish("a\xE2\x82\xAC!"), "");
}

TEST(TextStream, HoldsBackWhatMayStartAStopString) {
  TextStream s({"\n\n", "END"});
  EXPECT_EQ(s.Push("hi\n"), "hi");
  EXPECT_EQ(s.Push("hi\nyo E"), "\nyo ");
  EXPECT_EQ(s.Push("hi\nyo EN"), "");
  EXPECT_EQ(s.Push("hi\nyo ENx"), "ENx");
  EXPECT_EQ(s.Push("hi\nyo ENxEND and more"), "");  // the stop string ends the text
  EXPECT_EQ(s.Finish("hi\nyo ENx"), "");
}

TEST(TextStream, FinishSendsTheRest) {
  TextStream s({"zz"});
  EXPECT_EQ(s.Push("abz"), "ab");
  EXPECT_EQ(s.Finish("abz"), "z");  // ended by length: the held-back text goes out
}

}  // namespace
}  // namespace aftune
