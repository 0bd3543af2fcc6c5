#include "commit/key.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "commit/test_vectors.h"

namespace aftune {
namespace {

Ed25519Seed Seed(const std::string& hex) {
  Ed25519Seed s;
  EXPECT_TRUE(HexDecodeInto(hex, s).ok());
  return s;
}

// RFC 8032 §7.1, TEST 1-3.
TEST(Key, Rfc8032Vectors) {
  struct {
    const char *seed, *pub, *msg, *sig;
  } tests[] = {
      {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
       "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
       "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bb"
       "e24655141438e7a100b"},
      {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
       "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
       "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb43"
       "02aeeb00d291612bb0c00"},
      {"c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
       "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
       "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716"
       "ed28dc027beceea1ec40a"},
  };
  for (auto& t : tests) {
    Result<PrivateKey> k = PrivateKey::FromSeed("rfc8032", Seed(t.seed));
    ASSERT_TRUE(k.ok());
    EXPECT_EQ(HexEncode(k->public_key().key), t.pub);
    std::vector<uint8_t> msg = testing::Bytes(t.msg);
    Ed25519Signature sig = k->Sign(msg);
    EXPECT_EQ(HexEncode(sig), t.sig);
    EXPECT_TRUE(k->public_key().Verify(msg, sig));
    sig[10] ^= 1;
    EXPECT_FALSE(k->public_key().Verify(msg, sig));
  }
}

TEST(Key, VectorFile) {
  nlohmann::json v = testing::LoadVectors("note.json");
  for (const auto& kv : v["keys"]) {
    std::string name = kv["name"];
    SCOPED_TRACE(name);
    Result<PrivateKey> k = ParsePrivateKey(kv["private_file"].get<std::string>());
    ASSERT_TRUE(k.ok()) << k.status().ToString();
    EXPECT_EQ(k->name(), name);
    EXPECT_EQ(HexEncode(k->seed()), kv["seed_hex"]);
    EXPECT_EQ(HexEncode(k->public_key().key), kv["public_hex"]);
    char id[9];
    std::snprintf(id, sizeof id, "%08x", k->id());
    EXPECT_EQ(id, kv["key_id_hex"]);
    EXPECT_EQ(FormatPrivateKey(*k), kv["private_file"]);
    EXPECT_EQ(FormatPublicKey(k->public_key()), kv["public_file"]);
    EXPECT_EQ(FormatVerifierKey(k->public_key()), kv["verifier_key"]);
    Result<PublicKey> pub = ParsePublicKey(kv["public_file"].get<std::string>());
    ASSERT_TRUE(pub.ok());
    EXPECT_EQ(pub->key, k->public_key().key);
    Result<PublicKey> vk = ParseVerifierKey(kv["verifier_key"].get<std::string>());
    ASSERT_TRUE(vk.ok()) << vk.status().ToString();
    EXPECT_EQ(vk->key, k->public_key().key);
  }
}

// Go's golang.org/x/mod/sumdb/note example keys (note.go package comment).
constexpr char kPeterVkey[] = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
constexpr char kPeterSeedB64[] = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";  // 0x01 ‖ seed, from its skey

TEST(Key, GoVerifierKey) {
  Result<PublicKey> k = ParseVerifierKey(kPeterVkey);
  ASSERT_TRUE(k.ok()) << k.status().ToString();
  EXPECT_EQ(k->name, "PeterNeumann");
  EXPECT_EQ(k->id(), 0xc74f20a3u);
  EXPECT_EQ(FormatVerifierKey(*k), kPeterVkey);
  // The seed from Go's signer key derives the same public key and id.
  std::vector<uint8_t> raw = *Base64Decode(kPeterSeedB64);
  ASSERT_EQ(raw.size(), 33u);
  Ed25519Seed seed;
  std::copy(raw.begin() + 1, raw.end(), seed.begin());
  Result<PrivateKey> priv = PrivateKey::FromSeed("PeterNeumann", seed);
  ASSERT_TRUE(priv.ok());
  EXPECT_EQ(priv->public_key().key, k->key);
  EXPECT_EQ(priv->id(), 0xc74f20a3u);

  // Every single-byte change of the verifier key is rejected: the id binds
  // name and key (as Go's TestNewVerifier checks).
  std::string v = kPeterVkey;
  for (size_t i = 0; i < v.size(); i++) {
    for (int delta : {1, -1}) {
      std::string bad = v;
      bad[i] = static_cast<char>(bad[i] + delta);
      EXPECT_FALSE(ParseVerifierKey(bad).ok()) << i << " " << bad;
    }
  }
  for (size_t i = 0; i < v.size(); i++) EXPECT_FALSE(ParseVerifierKey(v.substr(0, i)).ok()) << i;
}

TEST(Key, NameRules) {
  EXPECT_TRUE(IsValidKeyName("example.com/log"));
  EXPECT_TRUE(IsValidKeyName("\xc3\x89mile"));
  EXPECT_TRUE(IsValidKeyName(std::string(kMaxKeyNameBytes, 'a')));
  for (std::string bad : {std::string(""), std::string("a b"), std::string("a+b"), std::string("a\tb"),
                          std::string("a\nb"), std::string("a\x7f"), std::string("a\xc2\xa0"),   // NBSP
                          std::string("a\xe2\x80\x83"),                                          // EM SPACE
                          std::string("a\xe3\x80\x80"),                                          // IDEOGRAPHIC SPACE
                          std::string("\xff"), std::string(1, '\0'), std::string(kMaxKeyNameBytes + 1, 'a')}) {
    EXPECT_FALSE(IsValidKeyName(bad)) << bad;
  }
  EXPECT_EQ(PrivateKey::FromSeed("bad name", Ed25519Seed{}).status().code(), Status::Code::kInvalidArgument);
}

// Flip every byte of a key file: the result is rejected, or (when the byte
// was in the name or the hex field and stayed legal) it is a different key.
// Never does it parse to the same key, and the fixed parts are always checked.
TEST(Key, MangledKeyFilesRejected) {
  nlohmann::json v = testing::LoadVectors("note.json");
  std::string priv = v["keys"][0]["private_file"], pub = v["keys"][0]["public_file"];
  Result<PrivateKey> orig = ParsePrivateKey(priv);
  ASSERT_TRUE(orig.ok());
  size_t name_end = priv.find(' ', std::string("aftune-ed25519-private ").size());
  for (size_t i = 0; i < priv.size(); i++) {
    for (uint8_t mask : {0x01, 0x20, 0x80}) {
      std::string bad = priv;
      bad[i] = static_cast<char>(bad[i] ^ mask);
      Result<PrivateKey> k = ParsePrivateKey(bad);
      bool in_fields = i > std::string("aftune-ed25519-private").size() && i != name_end && i + 1 < priv.size();
      if (k.ok()) {
        EXPECT_TRUE(in_fields) << i;
        EXPECT_TRUE(k->name() != orig->name() || k->seed() != orig->seed()) << i;
      } else {
        EXPECT_EQ(k.status().code(), Status::Code::kCorruption) << i;
      }
    }
  }
  for (size_t i = 0; i < pub.size(); i++) {
    std::string bad = pub;
    bad[i] = static_cast<char>(bad[i] ^ 0x80);  // never legal in the fixed text or hex
    if (i < std::string("aftune-ed25519-public ").size() || i >= pub.size() - 65) {
      EXPECT_EQ(ParsePublicKey(bad).status().code(), Status::Code::kCorruption) << i;
    }
  }
  // Truncations, extensions and spacing variants.
  for (size_t i = 0; i < priv.size(); i++) EXPECT_FALSE(ParsePrivateKey(priv.substr(0, i)).ok()) << i;
  for (std::string bad : {priv + "\n", priv + "x", " " + priv, priv.substr(0, priv.size() - 1) + "\r\n",
                          priv.substr(0, priv.size() - 1) + " \n", pub, std::string("")}) {
    EXPECT_EQ(ParsePrivateKey(bad).status().code(), Status::Code::kCorruption) << bad;
  }
  std::string upper = priv;
  upper[upper.size() - 2] = 'A';  // uppercase hex is not canonical
  EXPECT_FALSE(ParsePrivateKey(upper).ok());
  EXPECT_FALSE(ParsePublicKey(priv).ok());
}

class KeyFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("aftune_key_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Path(const char* name) { return (dir_ / name).string(); }
  std::filesystem::path dir_;
};

TEST_F(KeyFileTest, WriteReadRoundTripWithMode0600) {
  Result<PrivateKey> k = PrivateKey::Generate("aftune.example/test");
  ASSERT_TRUE(k.ok());
  std::string path = Path("key.private");
  ASSERT_TRUE(WritePrivateKeyFile(path, *k).ok());
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  Result<PrivateKey> back = ReadPrivateKeyFile(path);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->seed(), k->seed());
  EXPECT_EQ(back->name(), k->name());
  // Never overwrites a private key.
  Status again = WritePrivateKeyFile(path, *k);
  EXPECT_EQ(again.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(again.message().find("already exists"), std::string::npos);

  std::string pub_path = Path("key.public");
  ASSERT_TRUE(WritePublicKeyFile(pub_path, k->public_key()).ok());
  Result<PublicKey> pub = ReadPublicKeyFile(pub_path);
  ASSERT_TRUE(pub.ok());
  EXPECT_EQ(pub->key, k->public_key().key);
  EXPECT_EQ(pub->name, k->name());
}

TEST_F(KeyFileTest, GroupOrOtherReadablePrivateKeyRefused) {
  Result<PrivateKey> k = PrivateKey::Generate("aftune.example/test");
  ASSERT_TRUE(k.ok());
  std::string path = Path("key.private");
  ASSERT_TRUE(WritePrivateKeyFile(path, *k).ok());
  for (unsigned mode : {0644u, 0640u, 0604u, 0660u, 0601u, 0610u}) {
    ASSERT_EQ(::chmod(path.c_str(), mode), 0);
    Result<PrivateKey> r = ReadPrivateKeyFile(path);
    ASSERT_FALSE(r.ok()) << std::oct << mode;
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
    char want[16];
    std::snprintf(want, sizeof want, "mode %04o", mode);
    EXPECT_NE(r.status().message().find(want), std::string::npos) << r.status().message();
    EXPECT_NE(r.status().message().find("readable by group or others"), std::string::npos);
  }
  ASSERT_EQ(::chmod(path.c_str(), 0400), 0);
  EXPECT_TRUE(ReadPrivateKeyFile(path).ok());
}

TEST_F(KeyFileTest, BadFiles) {
  EXPECT_EQ(ReadPrivateKeyFile(Path("missing")).status().code(), Status::Code::kNotFound);
  EXPECT_EQ(ReadPrivateKeyFile(dir_.string()).status().code(), Status::Code::kInvalidArgument);
  std::string path = Path("garbage");
  ASSERT_TRUE(WriteFileAtomic(path, std::string(100000, 'x'), 0600).ok());
  Result<PrivateKey> r = ReadPrivateKeyFile(path);
  EXPECT_EQ(r.status().code(), Status::Code::kCorruption);
  EXPECT_NE(r.status().message().find(path), std::string::npos);
}

}  // namespace
}  // namespace aftune
