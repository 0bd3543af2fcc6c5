// Ed25519 keys (RFC 8032, via libsodium), their key ids and key files.
//
// Key files (DESIGN.md "Keys"; docs/formats.md "Key files"), each exactly one
// line ending in LF, fields separated by one space, nothing else:
//
//   aftune-ed25519-private <name> <64 lowercase hex: 32-byte seed>\n   mode 0600
//   aftune-ed25519-public <name> <64 lowercase hex: 32-byte public key>\n
//
// <name> is a key name: 1 to 256 bytes of UTF-8 with no Unicode space, no
// control character and no '+' (the C2SP signed-note rule, plus the byte cap).
// A private key file readable by group or others is refused.
//
// Key id (C2SP signed-note, Ed25519):
//   key_id = first 4 bytes, big-endian, of SHA-256(name ‖ 0x0A ‖ 0x01 ‖ pubkey)
//
// Verifier keys: the text form Go's golang.org/x/mod/sumdb/note and C2SP
// tools exchange, "<name>+<8 hex key id>+<base64(0x01 ‖ pubkey)>", is also
// understood, so aftune can check notes signed by such tools.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "base/status.h"

namespace aftune {

using Ed25519PublicKey = std::array<uint8_t, 32>;
using Ed25519Seed = std::array<uint8_t, 32>;
using Ed25519Signature = std::array<uint8_t, 64>;

inline constexpr size_t kMaxKeyNameBytes = 256;

// The C2SP key-name rule above.
bool IsValidKeyName(std::string_view name);

uint32_t KeyId(std::string_view name, const Ed25519PublicKey& key);

struct PublicKey {
  std::string name;
  Ed25519PublicKey key{};

  uint32_t id() const { return KeyId(name, key); }
  // Whether `sig` is a valid RFC 8032 signature of `msg` by this key.
  // libsodium's checks are strict: non-canonical S and small-order keys fail.
  bool Verify(std::span<const uint8_t> msg, const Ed25519Signature& sig) const;
};

// A signing key: name and seed. Move-only; the seed and the expanded secret
// key are wiped from memory on destruction.
class PrivateKey {
 public:
  // kInvalidArgument when the name is not a valid key name.
  static Result<PrivateKey> FromSeed(std::string_view name, const Ed25519Seed& seed);
  // A new key from the OS's random source.
  static Result<PrivateKey> Generate(std::string_view name);

  PrivateKey(PrivateKey&& other) noexcept;
  PrivateKey& operator=(PrivateKey&& other) noexcept;
  PrivateKey(const PrivateKey&) = delete;
  PrivateKey& operator=(const PrivateKey&) = delete;
  ~PrivateKey();

  const std::string& name() const { return name_; }
  const Ed25519Seed& seed() const { return seed_; }
  PublicKey public_key() const { return PublicKey{name_, pub_}; }
  uint32_t id() const { return KeyId(name_, pub_); }
  // RFC 8032 Ed25519 (deterministic).
  Ed25519Signature Sign(std::span<const uint8_t> msg) const;

 private:
  PrivateKey() = default;
  void Wipe();
  std::string name_;
  Ed25519Seed seed_{};
  Ed25519PublicKey pub_{};
  std::array<uint8_t, 64> secret_{};  // libsodium's expanded form: seed ‖ pub
};

// Key-file text (the exact line above) and strict parsers of it.
std::string FormatPrivateKey(const PrivateKey& key);
std::string FormatPublicKey(const PublicKey& key);
// kCorruption naming the field that is wrong.
Result<PrivateKey> ParsePrivateKey(std::string_view text);
Result<PublicKey> ParsePublicKey(std::string_view text);

// Writes a private key file with mode 0600, atomically. Refuses
// (kInvalidArgument) to replace an existing file: a lost signing key cannot
// be recovered.
Status WritePrivateKeyFile(const std::string& path, const PrivateKey& key);
// Reads a private key file. kInvalidArgument when it is not a regular file
// or group/other have any permission on it (mode & 077); kCorruption when
// its content is malformed; kNotFound/kIOError from the file system.
Result<PrivateKey> ReadPrivateKeyFile(const std::string& path);
Status WritePublicKeyFile(const std::string& path, const PublicKey& key);
Result<PublicKey> ReadPublicKeyFile(const std::string& path);

// "<name>+<8 hex id>+<base64(0x01 ‖ key)>", and its strict parser
// (kCorruption; the id must match the name and key).
std::string FormatVerifierKey(const PublicKey& key);
Result<PublicKey> ParseVerifierKey(std::string_view vkey);

}  // namespace aftune
