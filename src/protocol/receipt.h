// The inference receipt: what the provider signs for every answer it serves
// (DESIGN.md, "Receipts and the log"; docs/formats.md, "Inference requests
// and receipts"). A C2SP signed note (commit/note.h) by the provider's key
// whose text is exactly these eight lines, each ending in LF:
//
//   aftune inference receipt v1
//   log <origin>              the receipt log's origin (a key name)
//   index <decimal>           the receipt's leaf index in that log
//   model <hex>               state digest of the served model.safetensors
//   adapter <hex|none>        state digest of the served adapter, or none
//   commitment <hex|none>     SHA-256 of the training commitment note's bytes
//                             the served weights come from, or none
//   request <hex>             request digest (protocol/request.h)
//   response <hex>            response digest (protocol/request.h)
//
// Hex is 64 lowercase digits; the index is canonical decimal. The signed
// note's bytes are the log leaf (leaf hash SHA-256(0x00 ‖ note)).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "commit/key.h"
#include "commit/sha256.h"

namespace aftune {

inline constexpr std::string_view kReceiptHeader = "aftune inference receipt v1";

struct Receipt {
  std::string log;  // origin
  uint64_t index = 0;
  Hash model{};
  std::optional<Hash> adapter;
  std::optional<Hash> commitment;
  Hash request{};
  Hash response{};
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
