// Bearer tokens of the provider's audit service (aftune provide --tokens).
//
// The file: one token per non-empty line, `<client> <secret> <run>[ <run>…]`
// (fields separated by single spaces; a run is the name the provider gives
// it, the last component of its directory, or `*` for every run); lines
// starting with '#' are comments. The file must be mode 0600 or stricter and
// name each client and each secret once. Only the SHA-256 of each secret is
// kept; a presented token is hashed and compared in constant time with all.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "commit/sha256.h"

namespace aftune {

struct AuditToken {
  std::string client;
  Hash secret_sha256{};
  std::vector<std::string> runs;  // "*": any

  bool MayOpen(std::string_view run) const;
};

// Errors name the file and the 1-based line; kInvalidArgument when the
// file's mode lets group or others read it.
Result<std::vector<AuditToken>> ReadAuditTokensFile(const std::string& path);
Result<std::vector<AuditToken>> ParseAuditTokens(std::string_view text, const std::string& source);

// The token whose secret is `presented`, or nullptr.
const AuditToken* MatchAuditToken(const std::vector<AuditToken>& tokens, std::string_view presented);

}  // namespace aftune
