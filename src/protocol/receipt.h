// The inference receipt: what the provider signs for every answer it serves
// (DESIGN.md, "Receipts and the log"; docs/formats.md, "Inference requests
// and receipts"). A C2SP signed note (commit/note.h) by the provider's key
// whose text is exactly these eight lines, each ending in LF:
//
//   aftune inference receipt v2
//   log <origin>              the receipt log's origin (a key name)
//   index <decimal>           the receipt's leaf index in that log
//   model <hex>               state digest of the served model.safetensors
//   adapter <hex|none>        state digest of the served adapter, or none
//   commitment <hex|none>     SHA-256 of the training commitment note's bytes
//                             the served weights come from, or none
//   request <hex>             blinded request digest (below)
//   response <hex>            blinded response digest (below)
//
// The log is public, and a prompt like "3+4=" is found from its digest in a
// few guesses, so the receipt holds the request and response digests of
// protocol/request.h blinded by a secret salt of 32 random bytes drawn for
// this receipt alone: blinded = HMAC-SHA256(key = salt, message = digest).
// The salt goes to the client alone (in its receipt bundle), who can then
// show the receipt binds its request and answer; the log alone reveals
// nothing a guess can be tested against.
//
// Hex is 64 lowercase digits; the index is canonical decimal. The signed
// note's bytes are the log leaf (leaf hash SHA-256(0x00 ‖ note)).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "commit/key.h"
#include "commit/sha256.h"

namespace aftune {

inline constexpr std::string_view kReceiptHeader = "aftune inference receipt v2";

using ReceiptSalt = std::array<uint8_t, 32>;

// A fresh salt from OpenSSL's CSPRNG. Aborts if the generator fails: a
// predictable salt would publish guessable digests.
ReceiptSalt NewReceiptSalt();
// HMAC-SHA256(key = salt, message = the 32 bytes of digest).
Hash BlindDigest(const ReceiptSalt& salt, const Hash& digest);

struct Receipt {
  std::string log;  // origin
  uint64_t index = 0;
  Hash model{};
  std::optional<Hash> adapter;
  std::optional<Hash> commitment;
  Hash request{};   // blinded
  Hash response{};  // blinded
  bool operator==(const Receipt&) const = default;
};

// REQUIRES: r.log is a valid key name (commit/key.h IsValidKeyName).
std::string ReceiptText(const Receipt& r);
// kCorruption naming the line and field unless `text` is exactly a
// ReceiptText.
Result<Receipt> ParseReceiptText(std::string_view text);

// The signed note. REQUIRES: as ReceiptText.
std::string SignReceipt(const Receipt& r, const PrivateKey& key);
// Opens the note with the provider's key (OpenNote's errors), then parses it.
Result<Receipt> VerifyReceipt(std::string_view note, const PublicKey& provider);

}  // namespace aftune
