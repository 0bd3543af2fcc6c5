#include "commit/encoding.h"

#include <gtest/gtest.h>

namespace aftune {
namespace {

std::string Dec(std::string_view b64) {
  Result<std::vector<uint8_t>> r = Base64Decode(b64);
  return r.ok() ? std::string(AsChars(*r)) : "<error>";
}

// RFC 4648 §10 test vectors.
TEST(Base64, Rfc4648Vectors) {
  const char* pairs[][2] = {{"", ""},         {"f", "Zg=="},       {"fo", "Zm8="},        {"foo", "Zm9v"},
                            {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};
  for (auto& p : pairs) {
    EXPECT_EQ(Base64Encode(AsBytes(p[0])), p[1]);
    EXPECT_EQ(Dec(p[1]), p[0]);
  }
}

TEST(Base64, RoundTripsEveryLengthAndByte) {
  for (size_t n = 0; n < 80; n++) {
    std::vector<uint8_t> data(n);
    for (size_t i = 0; i < n; i++) data[i] = static_cast<uint8_t>(i * 73 + n * 29 + 255);
    Result<std::vector<uint8_t>> back = Base64Decode(Base64Encode(data));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, data);
  }
}

TEST(Base64, RejectsNonCanonical) {
  for (const char* bad : {"Zh==", "Zm9=", "Zg=", "Zg", "Z===", "====", "Zm9v\n", "Zm-v", "Zm_v", " Zm9v",
                          "Zm9v ", "Zg==Zg==", "Zg=a", "Z=g=", "Zm9vYg", "Zm9vY===", "\xc3\xa9\xc3\xa9"}) {
    Result<std::vector<uint8_t>> r = Base64Decode(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Status::Code::kCorruption);
    }
  }
}

TEST(Hex, EncodeAndStrictDecode) {
  uint8_t b[] = {0x00, 0x0f, 0xa5, 0xff};
  EXPECT_EQ(HexEncode(b), "000fa5ff");
  ASSERT_TRUE(HexDecode("000fa5ff").ok());
  EXPECT_EQ(*HexDecode("000fa5ff"), std::vector<uint8_t>(b, b + 4));
  EXPECT_FALSE(HexDecode("000FA5FF").ok());
  EXPECT_FALSE(HexDecode("000fa5f").ok());
  EXPECT_FALSE(HexDecode("0g").ok());
  uint8_t out[2];
  EXPECT_FALSE(HexDecodeInto("000f00", out).ok());
  EXPECT_TRUE(HexDecodeInto("000f", out).ok());
}

TEST(Decimal, Canonical) {
  EXPECT_EQ(*ParseDecimalU64("0"), 0u);
  EXPECT_EQ(*ParseDecimalU64("20852163"), 20852163u);
  EXPECT_EQ(*ParseDecimalU64("18446744073709551615"), UINT64_MAX);
  for (const char* bad : {"", "00", "01", "+1", "-1", " 1", "1 ", "1e3", "0x10", "18446744073709551616",
                          "99999999999999999999"}) {
    EXPECT_FALSE(ParseDecimalU64(bad).ok()) << bad;
  }
}

TEST(Utf8, Validation) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ascii"));
  EXPECT_TRUE(IsValidUtf8("\xe2\x80\x94 \xc3\x89 \xf0\x9f\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("\x80"));
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xe0\x80\xaf"));      // overlong
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));      // surrogate U+D800
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xe2\x80"));          // truncated
  EXPECT_FALSE(IsValidUtf8("\xff"));
}

}  // namespace
}  // namespace aftune
