// The training commitment: text round-trips, the signed note verifies with
// the provider's key, and any flipped byte is rejected.
#include "protocol/commitment.h"

#include <gtest/gtest.h>

namespace aftune {
namespace {

TrainingCommitment Example() {
  TrainingCommitment c;
  for (size_t i = 0; i < 32; ++i) {
    c.contract[i] = static_cast<uint8_t>(i);
    c.trace[i] = static_cast<uint8_t>(i + 1);
    c.final_state[i] = static_cast<uint8_t>(i + 2);
    c.weights[i] = static_cast<uint8_t>(i + 3);
  }
  c.records = 17;
  c.steps = 6;
  return c;
}

TEST(CommitmentTest, TextRoundTrips) {
  const TrainingCommitment c = Example();
  const std::string text = CommitmentText(c);
  EXPECT_EQ(text.substr(0, 39), "aftune training commitment v1\ncontract ");
  auto parsed = ParseCommitmentText(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(*parsed, c);
}

TEST(CommitmentTest, ParserIsStrict) {
  const std::string text = CommitmentText(Example());
  for (const std::string& bad : {text.substr(0, text.size() - 1), text + "extra\n", "x" + text,
                                 std::string(text).replace(text.find("records 17"), 10, "records 017"),
                                 std::string(text).replace(text.find("steps"), 5, "Steps")})
    EXPECT_EQ(ParseCommitmentText(bad).status().code(), Status::Code::kCorruption) << bad;
  auto r = ParseCommitmentText(std::string(text).replace(text.find("records 17"), 10, "records x7"));
  EXPECT_NE(r.status().message().find("records"), std::string::npos) << r.status().ToString();
}

TEST(CommitmentTest, SignedNoteVerifiesAndFlippedBytesAreRejected) {
  auto key = PrivateKey::Generate("example.com/provider");
  ASSERT_TRUE(key.ok());
  auto note = SignCommitment(Example(), *key);
  ASSERT_TRUE(note.ok()) << note.status().ToString();
  auto c = VerifyCommitment(*note, key->public_key());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(*c, Example());
  for (size_t i = 0; i < note->size(); ++i) {
    std::string bad = *note;
    bad[i] ^= 0x01;
    EXPECT_FALSE(VerifyCommitment(bad, key->public_key()).ok()) << "byte " << i;
  }
  auto other = PrivateKey::Generate("example.com/other");
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(VerifyCommitment(*note, other->public_key()).status().code(), Status::Code::kNotFound);
}

}  // namespace
}  // namespace aftune
