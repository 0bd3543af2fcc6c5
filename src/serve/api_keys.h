// API keys for the generation endpoints (aftune serve --api-keys FILE).
//
// The file: one key per non-empty line, `name secret` or `name sha256:<64
// hex>` (SHA-256 of the secret, so the file need not hold it); lines starting
// with '#' are comments. The file must be mode 0600 or stricter (no group or
// other access) and name each key once. Only the SHA-256 of each secret is
// kept in memory; a presented Bearer token is hashed and compared in constant
// time with every key.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "commit/sha256.h"

namespace aftune {

struct ApiKey {
  std::string name;
  Hash secret_sha256{};
};

// Errors name the file and the 1-based line.
Result<std::vector<ApiKey>> ReadApiKeysFile(const std::string& path);
Result<std::vector<ApiKey>> ParseApiKeys(std::string_view text, const std::string& source);

// The name of the key whose secret is `token`, or empty.
std::string MatchApiKey(const std::vector<ApiKey>& keys, std::string_view token);

}  // namespace aftune
