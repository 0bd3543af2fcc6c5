#include "commit/sha256.h"

#include <openssl/evp.h>

#include "commit/encoding.h"

namespace aftune {

namespace {

// The SHA-256 implementation, fetched once: an explicit fetch avoids the
// per-call provider lookup that EVP_sha256() implies in OpenSSL 3.
const EVP_MD* Md() {
  static const EVP_MD* md = [] {
    EVP_MD* m = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    AFTUNE_CHECK(m != nullptr);
    return m;
  }();
  return md;
}

EVP_MD_CTX* NewCtx() {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  AFTUNE_CHECK(ctx != nullptr);
  AFTUNE_CHECK(EVP_DigestInit_ex2(ctx, Md(), nullptr) == 1);
  return ctx;
}

}  // namespace

Sha256::Sha256() : ctx_(NewCtx()) {}

Sha256::~Sha256() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }

void Sha256::Update(std::span<const uint8_t> data) {
  if (data.empty()) return;
  AFTUNE_CHECK(EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), data.data(), data.size()) == 1);
}

void Sha256::Update(std::string_view data) {
  Update(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data.data()), data.size()));
}

Hash Sha256::Finish() {
  Hash out;
  unsigned int len = 0;
  auto* ctx = static_cast<EVP_MD_CTX*>(ctx_);
  AFTUNE_CHECK(EVP_DigestFinal_ex(ctx, out.data(), &len) == 1);
  AFTUNE_CHECK(len == out.size());
  AFTUNE_CHECK(EVP_DigestInit_ex2(ctx, Md(), nullptr) == 1);
  return out;
}

Hash Sha256Of(std::span<const uint8_t> data) {
  // One context per thread, reused: allocation would dominate small inputs
  // such as the 65-byte Merkle node hashes.
  thread_local Sha256 h;
  h.Update(data);
  return h.Finish();
}

Hash Sha256Of(std::string_view data) {
  return Sha256Of(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data.data()), data.size()));
}

std::string HashToHex(const Hash& h) { return HexEncode(h); }

Result<Hash> HashFromHex(std::string_view hex) {
  Hash h;
  AFTUNE_RETURN_IF_ERROR(HexDecodeInto(hex, h).WithContext("hash"));
  return h;
}

}  // namespace aftune
