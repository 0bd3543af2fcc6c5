#include "commit/sha256.h"

#include <gtest/gtest.h>

#include <string>

#include "commit/encoding.h"

namespace aftune {
namespace {

// FIPS 180-2 Appendix B examples and the empty message.
TEST(Sha256, KnownAnswers) {
  EXPECT_EQ(HashToHex(Sha256Of("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(HashToHex(Sha256Of("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(HashToHex(Sha256Of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(HashToHex(Sha256Of(std::string(1000000, 'a'))),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, IncrementalEqualsOneShotAtEverySplit) {
  std::string msg;
  for (int i = 0; i < 300; i++) msg += static_cast<char>(i * 37 + 11);
  Hash want = Sha256Of(msg);
  Sha256 h;
  for (size_t split = 0; split <= msg.size(); split++) {
    h.Update(std::string_view(msg).substr(0, split));
    h.Update(std::string_view(msg).substr(split));
    EXPECT_EQ(h.Finish(), want) << split;  // Finish resets for the next round
  }
}

TEST(Sha256, HexIsStrict) {
  Hash h = Sha256Of("abc");
  std::string hex = HashToHex(h);
  ASSERT_TRUE(HashFromHex(hex).ok());
  EXPECT_EQ(*HashFromHex(hex), h);
  std::string upper = hex;
  upper[0] = 'B';
  EXPECT_EQ(HashFromHex(upper).status().code(), Status::Code::kCorruption);
  EXPECT_EQ(HashFromHex(hex.substr(1)).status().code(), Status::Code::kCorruption);
  EXPECT_EQ(HashFromHex(hex + "0").status().code(), Status::Code::kCorruption);
  EXPECT_EQ(HashFromHex(hex.substr(0, 62) + "0x").status().code(), Status::Code::kCorruption);
  EXPECT_EQ(HashFromHex(" " + hex.substr(1)).status().code(), Status::Code::kCorruption);
  EXPECT_EQ(HashFromHex("").status().code(), Status::Code::kCorruption);
}

}  // namespace
}  // namespace aftune
