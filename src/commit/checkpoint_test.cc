#include "commit/checkpoint.h"

#include <gtest/gtest.h>

#include "commit/merkle.h"
#include "commit/note.h"
#include "commit/test_vectors.h"

namespace aftune {
namespace {

TEST(Checkpoint, VectorFile) {
  nlohmann::json v = testing::LoadVectors("note.json");
  const auto& cp = v["checkpoint"];
  Checkpoint c{cp["origin"], cp["size"], testing::H(cp["root_hex"]), {}};
  Result<std::string> text = FormatCheckpoint(c);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, cp["text"]);
  Result<Checkpoint> back = ParseCheckpoint(*text);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, c);

  Result<PrivateKey> log_key = ParsePrivateKey(v["keys"][2]["private_file"].get<std::string>());
  ASSERT_TRUE(log_key.ok());
  EXPECT_EQ(*SignNote(*text, *log_key), cp["signed"]);
  std::vector<PublicKey> known{log_key->public_key()};
  Result<Note> n = OpenNote(cp["signed"].get<std::string>(), known);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*ParseCheckpoint(n->text), c);
}

TEST(Checkpoint, EmptyLogExampleAndExtensions) {
  Checkpoint c{"example.com/log", 0, EmptyTreeRoot(), {}};
  EXPECT_EQ(*FormatCheckpoint(c), "example.com/log\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n");
  c.extensions = {"ext one", "\xe2\x80\x94 two"};
  c.size = UINT64_MAX;
  Result<std::string> t = FormatCheckpoint(c);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*ParseCheckpoint(*t), c);
  c.extensions = {""};
  EXPECT_EQ(FormatCheckpoint(c).status().code(), Status::Code::kInvalidArgument);
  c.extensions = {"a\nb"};
  EXPECT_EQ(FormatCheckpoint(c).status().code(), Status::Code::kInvalidArgument);
  c.extensions = {};
  c.origin = "has space";
  EXPECT_EQ(FormatCheckpoint(c).status().code(), Status::Code::kInvalidArgument);
}

TEST(Checkpoint, StrictParsing) {
  const std::string root = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
  ASSERT_TRUE(ParseCheckpoint("o\n5\n" + root + "\n").ok());
  for (std::string bad : std::vector<std::string>{
           "o\n5\n" + root,                     // no final newline
           "o\n5\n" + root + "\n\n",            // empty extension line
           "o\n5\n" + root + "\nx\n\n",         // empty extension line
           "o\n5\n",                            // missing root
           "\n5\n" + root + "\n",               // empty origin
           "o o\n5\n" + root + "\n",            // space in origin
           "o\n05\n" + root + "\n",             // leading zero
           "o\n+5\n" + root + "\n",             // sign
           "o\n-5\n" + root + "\n",
           "o\n 5\n" + root + "\n",
           "o\n18446744073709551616\n" + root + "\n",  // overflow
           "o\n5\r\n" + root + "\n",            // CR
           "o\n5\n" + root.substr(0, 40) + "\n",
           "o\n5\nAAAA\n",                      // 3-byte root
           "o\n5\n" + root.substr(0, root.size() - 2) + "V=\n",  // non-canonical base64
           "o\n5\n" + root + " \n",             // trailing space
           "o\n5\n" + root + "\nx\ry\n",        // control character in extension
           std::string(""),
       }) {
    Result<Checkpoint> c = ParseCheckpoint(bad);
    EXPECT_FALSE(c.ok()) << bad;
    if (!c.ok()) {
      EXPECT_EQ(c.status().code(), Status::Code::kCorruption) << bad;
    }
  }
  std::string many = "o\n5\n" + root + "\n";
  for (size_t i = 0; i <= kMaxCheckpointExtensions; i++) many += "e\n";
  EXPECT_FALSE(ParseCheckpoint(many).ok());
}

// Every byte flip either fails to parse or parses to a different checkpoint
// that formats back to exactly the mangled text (the format is canonical).
TEST(Checkpoint, FlipEveryByte) {
  Checkpoint c{"aftune.example/log", 1234567, Sha256Of("root"), {"ext"}};
  std::string text = *FormatCheckpoint(c);
  for (size_t i = 0; i < text.size(); i++) {
    for (uint8_t mask : {0x01, 0x02, 0x10, 0x80}) {
      std::string bad = text;
      bad[i] = static_cast<char>(bad[i] ^ mask);
      Result<Checkpoint> p = ParseCheckpoint(bad);
      if (p.ok()) {
        EXPECT_NE(*p, c) << i;
        EXPECT_EQ(*FormatCheckpoint(*p), bad) << i;
      } else {
        EXPECT_EQ(p.status().code(), Status::Code::kCorruption);
      }
    }
  }
}

}  // namespace
}  // namespace aftune
