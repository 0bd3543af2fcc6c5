#include "protocol/receipt.h"

#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstdio>
#include <cstdlib>
#include <vector>

#include "commit/encoding.h"
#include "commit/note.h"

namespace aftune {

ReceiptSalt NewReceiptSalt() {
  ReceiptSalt salt;
  if (RAND_bytes(salt.data(), static_cast<int>(salt.size())) != 1) {
    std::fprintf(stderr, "aftune: the random generator failed to make a receipt salt\n");
    std::abort();
  }
  return salt;
}

Hash BlindDigest(const ReceiptSalt& salt, const Hash& digest) {
  Hash out;
  unsigned len = 0;
  HMAC(EVP_sha256(), salt.data(), static_cast<int>(salt.size()), digest.data(), digest.size(), out.data(), &len);
  return out;
}

namespace {

std::string OptionalHex(const std::optional<Hash>& h) { return h ? HashToHex(*h) : "none"; }

Result<Hash> ParseHash(std::string_view value, const std::string& where) {
  Result<Hash> h = HashFromHex(value);
  if (!h.ok()) return Status::Corruption(where + ": " + h.status().message());
  return *h;
}

Result<std::optional<Hash>> ParseOptionalHash(std::string_view value, const std::string& where) {
  if (value == "none") return std::optional<Hash>();
  AFTUNE_ASSIGN_OR_RETURN(Hash h, ParseHash(value, where));
  return std::optional<Hash>(h);
}

}  // namespace

std::string ReceiptText(const Receipt& r) {
  AFTUNE_CHECK(IsValidKeyName(r.log));
  return std::string(kReceiptHeader) + "\nlog " + r.log + "\nindex " + std::to_string(r.index) + "\nmodel " +
         HashToHex(r.model) + "\nadapter " + OptionalHex(r.adapter) + "\ncommitment " + OptionalHex(r.commitment) +
         "\nrequest " + HashToHex(r.request) + "\nresponse " + HashToHex(r.response) + "\n";
}

Result<Receipt> ParseReceiptText(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) return Status::Corruption("receipt: the last line does not end in LF");
    lines.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  if (lines.size() != 8) return Status::Corruption("receipt: " + std::to_string(lines.size()) + " lines, expected 8");
  if (lines[0] != kReceiptHeader) return Status::Corruption("receipt line 1: not '" + std::string(kReceiptHeader) + "'");
  static constexpr const char* kFields[] = {"log", "index", "model", "adapter", "commitment", "request", "response"};
  std::string_view values[7];
  for (size_t i = 0; i < 7; ++i) {
    const std::string prefix = std::string(kFields[i]) + " ";
    if (lines[i + 1].substr(0, prefix.size()) != prefix)
      return Status::Corruption("receipt line " + std::to_string(i + 2) + ": expected '" + prefix + "…'");
    values[i] = lines[i + 1].substr(prefix.size());
  }
  auto where = [&](size_t i) { return "receipt line " + std::to_string(i + 2) + " (" + kFields[i] + ")"; };
  Receipt r;
  if (!IsValidKeyName(values[0])) return Status::Corruption(where(0) + ": not a valid key name");
  r.log = std::string(values[0]);
  Result<uint64_t> index = ParseDecimalU64(values[1]);
  if (!index.ok()) return Status::Corruption(where(1) + ": " + index.status().message());
  r.index = *index;
  AFTUNE_ASSIGN_OR_RETURN(r.model, ParseHash(values[2], where(2)));
  AFTUNE_ASSIGN_OR_RETURN(r.adapter, ParseOptionalHash(values[3], where(3)));
  AFTUNE_ASSIGN_OR_RETURN(r.commitment, ParseOptionalHash(values[4], where(4)));
  AFTUNE_ASSIGN_OR_RETURN(r.request, ParseHash(values[5], where(5)));
  AFTUNE_ASSIGN_OR_RETURN(r.response, ParseHash(values[6], where(6)));
  return r;
}

std::string SignReceipt(const Receipt& r, const PrivateKey& key) {
  Result<std::string> note = SignNote(ReceiptText(r), key);
  AFTUNE_CHECK(note.ok());  // the text is well-formed by construction
  return *note;
}

Result<Receipt> VerifyReceipt(std::string_view note, const PublicKey& provider) {
  PublicKey known[] = {provider};
  AFTUNE_ASSIGN_OR_RETURN(Note n, OpenNote(note, known));
  return ParseReceiptText(n.text);
}

}  // namespace aftune
