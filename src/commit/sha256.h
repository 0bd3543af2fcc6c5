// SHA-256 (FIPS 180-4) through OpenSSL's EVP interface, and the 32-byte Hash
// value type every digest in aftune uses.
//
// A Hash is written as 64 lowercase hex characters (DESIGN.md, "Wire formats").
// HashToHex/HashFromHex are the only text forms; the decoder is strict.
//
// Thread safety: the free functions are safe to call from any thread. A
// Sha256 object is not shared between threads without outside locking.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "base/status.h"

namespace aftune {

using Hash = std::array<uint8_t, 32>;

// Incremental SHA-256.
//
//   Sha256 h;
//   h.Update(a); h.Update(b);
//   Hash d = h.Finish();          // == Sha256Of(a ‖ b)
//
// After Finish() the object is reset and may hash a new message.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(std::span<const uint8_t> data);
  void Update(std::string_view data);
  void Update(uint8_t byte) { Update(std::span<const uint8_t>(&byte, 1)); }
  Hash Finish();

 private:
  void* ctx_;  // EVP_MD_CTX*, kept opaque so callers need no OpenSSL headers
};

// One-shot SHA-256 of `data`.
Hash Sha256Of(std::span<const uint8_t> data);
Hash Sha256Of(std::string_view data);

// "e3b0c442…" — 64 lowercase hex characters.
std::string HashToHex(const Hash& h);

// Strict inverse of HashToHex: exactly 64 characters from [0-9a-f].
// Uppercase, other lengths or any other character are kCorruption.
Result<Hash> HashFromHex(std::string_view hex);

}  // namespace aftune
