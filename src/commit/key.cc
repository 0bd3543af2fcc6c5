#include "commit/key.h"

#include <sodium.h>

#include <cstring>

#include "base/file.h"
#include "commit/encoding.h"
#include "commit/sha256.h"

namespace aftune {

namespace {

constexpr std::string_view kPrivatePrefix = "aftune-ed25519-private ";
constexpr std::string_view kPublicPrefix = "aftune-ed25519-public ";
constexpr size_t kMaxKeyFileBytes = 4096;
constexpr uint8_t kAlgEd25519 = 0x01;

void InitSodium() {
  static const bool ok = sodium_init() >= 0;
  AFTUNE_CHECK(ok);
}

// Decodes one UTF-8 code point at s[*i] (s known to be valid UTF-8).
uint32_t NextCodePoint(std::string_view s, size_t* i) {
  auto c = static_cast<uint8_t>(s[*i]);
  size_t n = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : 4;
  uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1fu) : n == 3 ? (c & 0x0fu) : (c & 0x07u);
  for (size_t j = 1; j < n; j++) cp = cp << 6 | (static_cast<uint8_t>(s[*i + j]) & 0x3fu);
  *i += n;
  return cp;
}

// Unicode White_Space (what Go's unicode.IsSpace reports).
bool IsUnicodeSpace(uint32_t cp) {
  return (cp >= 0x09 && cp <= 0x0d) || cp == 0x20 || cp == 0x85 || cp == 0xa0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 || cp == 0x202f || cp == 0x205f ||
         cp == 0x3000;
}

// Splits "<prefix><name> <hex>\n" into name and hex; kCorruption otherwise.
Status SplitKeyLine(std::string_view text, std::string_view prefix, std::string_view what, std::string_view* name,
                    std::string_view* hex) {
  if (text.size() > kMaxKeyFileBytes) return Status::Corruption(std::string(what) + ": longer than 4096 bytes");
  if (text.substr(0, prefix.size()) != prefix) {
    return Status::Corruption(std::string(what) + ": does not start with \"" + std::string(prefix) + "\"");
  }
  if (text.empty() || text.back() != '\n') return Status::Corruption(std::string(what) + ": does not end in a newline");
  std::string_view rest = text.substr(prefix.size(), text.size() - prefix.size() - 1);
  if (rest.find('\n') != std::string_view::npos) return Status::Corruption(std::string(what) + ": more than one line");
  size_t sp = rest.find(' ');
  if (sp == std::string_view::npos) return Status::Corruption(std::string(what) + ": missing key field");
  *name = rest.substr(0, sp);
  *hex = rest.substr(sp + 1);
  if (!IsValidKeyName(*name)) return Status::Corruption(std::string(what) + ": invalid key name");
  return Status::Ok();
}

}  // namespace

bool IsValidKeyName(std::string_view name) {
  if (name.empty() || name.size() > kMaxKeyNameBytes || !IsValidUtf8(name)) return false;
  for (size_t i = 0; i < name.size();) {
    uint32_t cp = NextCodePoint(name, &i);
    if (cp < 0x20 || cp == 0x7f || cp == '+' || IsUnicodeSpace(cp)) return false;
  }
  return true;
}

uint32_t KeyId(std::string_view name, const Ed25519PublicKey& key) {
  Sha256 h;
  h.Update(name);
  h.Update(uint8_t{0x0a});
  h.Update(kAlgEd25519);
  h.Update(key);
  Hash d = h.Finish();
  return uint32_t{d[0]} << 24 | uint32_t{d[1]} << 16 | uint32_t{d[2]} << 8 | d[3];
}

bool PublicKey::Verify(std::span<const uint8_t> msg, const Ed25519Signature& sig) const {
  InitSodium();
  return crypto_sign_verify_detached(sig.data(), msg.data(), msg.size(), key.data()) == 0;
}

Result<PrivateKey> PrivateKey::FromSeed(std::string_view name, const Ed25519Seed& seed) {
  if (!IsValidKeyName(name)) {
    return Status::InvalidArgument("key name \"" + std::string(name) +
                                   "\" must be 1-256 bytes of UTF-8 without spaces, control characters or '+'");
  }
  InitSodium();
  PrivateKey k;
  k.name_ = std::string(name);
  k.seed_ = seed;
  AFTUNE_CHECK(crypto_sign_seed_keypair(k.pub_.data(), k.secret_.data(), k.seed_.data()) == 0);
  return k;
}

Result<PrivateKey> PrivateKey::Generate(std::string_view name) {
  InitSodium();
  Ed25519Seed seed;
  randombytes_buf(seed.data(), seed.size());
  Result<PrivateKey> k = FromSeed(name, seed);
  sodium_memzero(seed.data(), seed.size());
  return k;
}

PrivateKey::PrivateKey(PrivateKey&& other) noexcept
    : name_(std::move(other.name_)), seed_(other.seed_), pub_(other.pub_), secret_(other.secret_) {
  other.Wipe();
}

PrivateKey& PrivateKey::operator=(PrivateKey&& other) noexcept {
  if (this != &other) {
    name_ = std::move(other.name_);
    seed_ = other.seed_;
    pub_ = other.pub_;
    secret_ = other.secret_;
    other.Wipe();
  }
  return *this;
}

PrivateKey::~PrivateKey() { Wipe(); }

void PrivateKey::Wipe() {
  sodium_memzero(seed_.data(), seed_.size());
  sodium_memzero(secret_.data(), secret_.size());
}

Ed25519Signature PrivateKey::Sign(std::span<const uint8_t> msg) const {
  Ed25519Signature sig;
  AFTUNE_CHECK(crypto_sign_detached(sig.data(), nullptr, msg.data(), msg.size(), secret_.data()) == 0);
  return sig;
}

std::string FormatPrivateKey(const PrivateKey& key) {
  return std::string(kPrivatePrefix) + key.name() + " " + HexEncode(key.seed()) + "\n";
}

std::string FormatPublicKey(const PublicKey& key) {
  return std::string(kPublicPrefix) + key.name + " " + HexEncode(key.key) + "\n";
}

Result<PrivateKey> ParsePrivateKey(std::string_view text) {
  std::string_view name, hex;
  AFTUNE_RETURN_IF_ERROR(SplitKeyLine(text, kPrivatePrefix, "private key", &name, &hex));
  Ed25519Seed seed;
  Status st = HexDecodeInto(hex, seed);
  if (!st.ok()) return st.WithContext("private key: seed");
  Result<PrivateKey> k = PrivateKey::FromSeed(name, seed);
  sodium_memzero(seed.data(), seed.size());
  return k;
}

Result<PublicKey> ParsePublicKey(std::string_view text) {
  std::string_view name, hex;
  AFTUNE_RETURN_IF_ERROR(SplitKeyLine(text, kPublicPrefix, "public key", &name, &hex));
  PublicKey k;
  k.name = std::string(name);
  Status st = HexDecodeInto(hex, k.key);
  if (!st.ok()) return st.WithContext("public key: key");
  return k;
}

Status WritePrivateKeyFile(const std::string& path, const PrivateKey& key) {
  if (FileExists(path)) return Status::InvalidArgument(path + ": already exists; will not overwrite a private key");
  std::string text = FormatPrivateKey(key);
  Status st = WriteFileAtomic(path, text, 0600);
  sodium_memzero(text.data(), text.size());
  return st;
}

Result<PrivateKey> ReadPrivateKeyFile(const std::string& path) {
  AFTUNE_ASSIGN_OR_RETURN(std::string text, ReadOwnerOnlyFile(path, "private key file", kMaxKeyFileBytes));
  Result<PrivateKey> k = ParsePrivateKey(text);
  sodium_memzero(text.data(), text.size());
  if (!k.ok()) return k.status().WithContext(path);
  return k;
}

Status WritePublicKeyFile(const std::string& path, const PublicKey& key) {
  if (!IsValidKeyName(key.name)) return Status::InvalidArgument("public key: invalid key name");
  return WriteFileAtomic(path, FormatPublicKey(key), 0644);
}

Result<PublicKey> ReadPublicKeyFile(const std::string& path) {
  AFTUNE_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  Result<PublicKey> k = ParsePublicKey(text);
  if (!k.ok()) return k.status().WithContext(path);
  return k;
}

std::string FormatVerifierKey(const PublicKey& key) {
  char id[9];
  std::snprintf(id, sizeof id, "%08x", key.id());
  uint8_t raw[33];
  raw[0] = kAlgEd25519;
  std::memcpy(raw + 1, key.key.data(), 32);
  return key.name + "+" + id + "+" + Base64Encode(std::span<const uint8_t>(raw, sizeof raw));
}

Result<PublicKey> ParseVerifierKey(std::string_view vkey) {
  size_t p1 = vkey.find('+');
  if (p1 == std::string_view::npos) return Status::Corruption("verifier key: missing '+'");
  size_t p2 = vkey.find('+', p1 + 1);
  if (p2 == std::string_view::npos) return Status::Corruption("verifier key: missing second '+'");
  std::string_view name = vkey.substr(0, p1), id_hex = vkey.substr(p1 + 1, p2 - p1 - 1), b64 = vkey.substr(p2 + 1);
  if (!IsValidKeyName(name)) return Status::Corruption("verifier key: invalid key name");
  uint8_t id_bytes[4];
  Status st = HexDecodeInto(id_hex, id_bytes);
  if (!st.ok()) return st.WithContext("verifier key: key id");
  AFTUNE_ASSIGN_OR_RETURN(std::vector<uint8_t> raw, Base64Decode(b64));
  if (raw.size() != 33 || raw[0] != kAlgEd25519) {
    return Status::Corruption("verifier key: not an Ed25519 key (type 0x01 and 32 bytes)");
  }
  PublicKey k;
  k.name = std::string(name);
  std::memcpy(k.key.data(), raw.data() + 1, 32);
  uint32_t id = uint32_t{id_bytes[0]} << 24 | uint32_t{id_bytes[1]} << 16 | uint32_t{id_bytes[2]} << 8 | id_bytes[3];
  if (id != k.id()) return Status::Corruption("verifier key: key id does not match name and key");
  return k;
}

}  // namespace aftune
