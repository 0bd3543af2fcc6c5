#include "commit/note.h"

#include <gtest/gtest.h>

#include "commit/test_vectors.h"

namespace aftune {
namespace {

// golang.org/x/mod/sumdb/note, note.go package documentation: a note signed
// by Go's implementation, and the verifier key it was signed with.
constexpr char kPeterVkey[] = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
constexpr char kPeterSkeyB64[] = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
constexpr char kPeterText[] =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n";
constexpr char kPeterNote[] =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
    "\n"
    "\xe2\x80\x94 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

PrivateKey KeyFromVectors(const nlohmann::json& v, size_t i) {
  Result<PrivateKey> k = ParsePrivateKey(v["keys"][i]["private_file"].get<std::string>());
  EXPECT_TRUE(k.ok());
  return std::move(k).value();
}

TEST(Note, VerifiesGoSignedExample) {
  Result<PublicKey> peter = ParseVerifierKey(kPeterVkey);
  ASSERT_TRUE(peter.ok());
  std::vector<PublicKey> known{*peter};
  Result<Note> n = OpenNote(kPeterNote, known);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(n->text, kPeterText);
  ASSERT_EQ(n->verified.size(), 1u);
  EXPECT_EQ(n->verified[0].name, "PeterNeumann");
  EXPECT_EQ(n->verified[0].key_id, 0xc74f20a3u);
  EXPECT_TRUE(n->unverified.empty());

  std::string tampered = kPeterNote;
  tampered.replace(tampered.find("cryptography"), 12, "cryptographY");
  EXPECT_EQ(OpenNote(tampered, known).status().code(), Status::Code::kMismatch);
}

TEST(Note, SigningReproducesGoSignature) {
  // Ed25519 is deterministic: libsodium must produce Go's bytes exactly.
  std::vector<uint8_t> raw = *Base64Decode(kPeterSkeyB64);
  Ed25519Seed seed;
  std::copy(raw.begin() + 1, raw.end(), seed.begin());
  Result<PrivateKey> k = PrivateKey::FromSeed("PeterNeumann", seed);
  ASSERT_TRUE(k.ok());
  Result<std::string> signed_note = SignNote(kPeterText, *k);
  ASSERT_TRUE(signed_note.ok());
  EXPECT_EQ(*signed_note, kPeterNote);
}

TEST(Note, VectorFile) {
  nlohmann::json v = testing::LoadVectors("note.json");
  PrivateKey provider = KeyFromVectors(v, 0), witness = KeyFromVectors(v, 1);
  std::string text = v["note"]["text"];
  EXPECT_EQ(*SignNote(text, provider), v["note"]["signed_by_provider"]);
  const PrivateKey* both[] = {&provider, &witness};
  EXPECT_EQ(*SignNote(text, both), v["note"]["signed_by_both"]);

  std::vector<PublicKey> only_provider{provider.public_key()};
  std::vector<PublicKey> all{provider.public_key(), witness.public_key()};
  Result<Note> n = OpenNote(v["note"]["signed_by_both"].get<std::string>(), only_provider);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(n->text, text);
  ASSERT_EQ(n->verified.size(), 1u);
  ASSERT_EQ(n->unverified.size(), 1u);  // the witness: not known, ignored
  EXPECT_EQ(n->unverified[0].name, "aftune.example/witness");
  n = OpenNote(v["note"]["signed_by_both"].get<std::string>(), all);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->verified.size(), 2u);
  EXPECT_TRUE(n->unverified.empty());
  // Only unknown signers: well-formed but unverified.
  std::vector<PublicKey> only_witness{witness.public_key()};
  EXPECT_EQ(OpenNote(v["note"]["signed_by_provider"].get<std::string>(), only_witness).status().code(),
            Status::Code::kNotFound);
  EXPECT_EQ(OpenNote(v["note"]["signed_by_provider"].get<std::string>(), {}).status().code(),
            Status::Code::kNotFound);
}

TEST(Note, RoundTripWithBlankLinesInText) {
  Result<PrivateKey> k = PrivateKey::Generate("k");
  ASSERT_TRUE(k.ok());
  std::vector<PublicKey> known{k->public_key()};
  for (std::string text : {"a\n", "\n", "a\n\nb\n", "a\n\n", "\xe2\x80\x94 k looks like a signature\n"}) {
    Result<std::string> msg = SignNote(text, *k);
    ASSERT_TRUE(msg.ok()) << text;
    Result<Note> n = OpenNote(*msg, known);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    EXPECT_EQ(n->text, text);
  }
  for (std::string bad : std::vector<std::string>{"", "no newline", "cr\r\n", "tab\t\n", "\xff\n", std::string("nul\0\n", 5)}) {
    EXPECT_EQ(SignNote(bad, *k).status().code(), Status::Code::kInvalidArgument) << bad;
  }
  EXPECT_EQ(SignNote("a\n", std::span<const PrivateKey* const>()).status().code(), Status::Code::kInvalidArgument);
}

// Every byte of a signed note, flipped in three different ways, makes it
// fail, with an error that names the kind of damage.
TEST(Note, FlipEveryByte) {
  nlohmann::json v = testing::LoadVectors("note.json");
  PrivateKey provider = KeyFromVectors(v, 0), witness = KeyFromVectors(v, 1);
  std::vector<PublicKey> all{provider.public_key(), witness.public_key()};
  std::string msg = v["note"]["signed_by_provider"];
  std::string text = v["note"]["text"];
  ASSERT_TRUE(OpenNote(msg, all).ok());
  for (size_t i = 0; i < msg.size(); i++) {
    for (uint8_t mask : {0x01, 0x40, 0x80}) {
      std::string bad = msg;
      bad[i] = static_cast<char>(bad[i] ^ mask);
      Result<Note> n = OpenNote(bad, all);
      ASSERT_FALSE(n.ok()) << "byte " << i << " mask " << int(mask);
      Status::Code c = n.status().code();
      if (i + 1 < text.size() && bad[i] >= 0x20 && static_cast<uint8_t>(bad[i]) < 0x80) {
        EXPECT_EQ(c, Status::Code::kMismatch) << i << ": " << n.status().ToString();  // text changed
      } else {
        EXPECT_TRUE(c == Status::Code::kCorruption || c == Status::Code::kMismatch || c == Status::Code::kNotFound)
            << i << ": " << n.status().ToString();
      }
    }
  }
  // Both signatures known: damage to either signature is caught.
  std::string two = v["note"]["signed_by_both"];
  size_t sigs = two.rfind("\n\n") + 2;
  for (size_t i = sigs; i < two.size(); i++) {
    std::string bad = two;
    bad[i] = static_cast<char>(bad[i] ^ 0x80);
    EXPECT_FALSE(OpenNote(bad, all).ok()) << i;
  }
}

TEST(Note, MalformedNotes) {
  Result<PrivateKey> k = PrivateKey::Generate("k");
  ASSERT_TRUE(k.ok());
  std::vector<PublicKey> known{k->public_key()};
  std::string good = *SignNote("hello\n", *k);
  std::string sig_line = good.substr(good.find("\n\n") + 2);
  std::string b64 = sig_line.substr(sig_line.find(' ', 4) + 1);
  b64.pop_back();
  auto code = [&](const std::string& m) { return OpenNote(m, known).status().code(); };
  const auto kCorrupt = Status::Code::kCorruption;
  EXPECT_EQ(code(good.substr(0, good.size() - 1)), kCorrupt);  // no final newline
  EXPECT_EQ(code(good + "x"), kCorrupt);                       // trailing garbage
  EXPECT_EQ(code(good + "\n"), kCorrupt);                      // trailing blank line
  EXPECT_EQ(code("hello\n" + sig_line), kCorrupt);             // no blank line
  EXPECT_EQ(code("hello\n\n"), kCorrupt);                      // no signatures
  EXPECT_EQ(code("hello\r\n\n" + sig_line), kCorrupt);         // CR
  EXPECT_EQ(code("hello\n\n- k " + b64 + "\n"), kCorrupt);     // ASCII dash
  EXPECT_EQ(code("hello\n\n\xe2\x80\x94k " + b64 + "\n"), kCorrupt);
  EXPECT_EQ(code("hello\n\n\xe2\x80\x94  k " + b64 + "\n"), kCorrupt);
  EXPECT_EQ(code("hello\n\n\xe2\x80\x94 k  " + b64 + "\n"), kCorrupt);
  EXPECT_EQ(code("hello\n\n\xe2\x80\x94 k " + b64 + " \n"), kCorrupt);
  EXPECT_EQ(code("hello\n\n\xe2\x80\x94 k\n"), kCorrupt);
  EXPECT_EQ(code("hello\n\n\xe2\x80\x94 k+1 " + b64 + "\n"), kCorrupt);   // '+' in name
  EXPECT_EQ(code("hello\n\n\xe2\x80\x94 k AAAAAA==\n"), kCorrupt);        // 4 bytes only
  EXPECT_EQ(code("hello\n\n\xe2\x80\x94 k " + b64.substr(0, b64.size() - 1) + "\n"), kCorrupt);
  // Non-canonical base64: set unused low bits in the char before '='.
  std::string noncanon = b64;
  size_t pad = noncanon.find('=');
  ASSERT_NE(pad, std::string::npos);
  noncanon[pad - 1] = static_cast<char>(noncanon[pad - 1] + 1);
  EXPECT_EQ(code("hello\n\n\xe2\x80\x94 k " + noncanon + "\n"), kCorrupt);
  // Known key, short signature: a failed signature, not an unknown key.
  std::vector<uint8_t> raw = *Base64Decode(b64);
  raw.pop_back();
  EXPECT_EQ(code("hello\n\n\xe2\x80\x94 k " + Base64Encode(raw) + "\n"), Status::Code::kMismatch);

  // Size caps.
  std::string many = good;
  for (size_t i = 0; i < kMaxNoteSignatures; i++) many += sig_line;
  EXPECT_EQ(code(many), kCorrupt);
  std::string huge(kMaxNoteBytes, 'a');
  huge += "\n\n" + sig_line;
  EXPECT_EQ(code(huge), kCorrupt);
}

TEST(Note, KnownKeyRules) {
  Result<PrivateKey> k = PrivateKey::Generate("k");
  Result<PrivateKey> impostor = PrivateKey::Generate("k");  // same name, other key
  ASSERT_TRUE(k.ok() && impostor.ok());
  std::string msg = *SignNote("hello\n", *k);
  // A key with the same name but another id does not match the signature.
  std::vector<PublicKey> wrong{impostor->public_key()};
  EXPECT_EQ(OpenNote(msg, wrong).status().code(), Status::Code::kNotFound);
  // A known key listed twice is fine. (Two different known keys with one
  // name and key id would need a 32-bit id collision; OpenNote reports that
  // as kInvalidArgument.)
  std::vector<PublicKey> dup{k->public_key(), k->public_key()};
  EXPECT_TRUE(OpenNote(msg, dup).ok());
  // A repeated signature line by a known key is verified each time.
  std::string sig_line = msg.substr(msg.find("\n\n") + 2);
  std::string bad_repeat = msg + sig_line;
  bad_repeat[bad_repeat.size() - 10] ^= 1;
  std::vector<PublicKey> known{k->public_key()};
  EXPECT_FALSE(OpenNote(bad_repeat, known).ok());
  Result<Note> twice = OpenNote(msg + sig_line, known);
  ASSERT_TRUE(twice.ok());
  EXPECT_EQ(twice->verified.size(), 1u);
}

}  // namespace
}  // namespace aftune
