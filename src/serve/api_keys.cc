#include "serve/api_keys.h"

#include <sodium.h>

#include <set>

#include "base/file.h"
#include "commit/encoding.h"

namespace aftune {

Result<std::vector<ApiKey>> ParseApiKeys(std::string_view text, const std::string& source) {
  std::vector<ApiKey> keys;
  std::set<std::string> names;
  size_t line_no = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line[0] == '#') continue;
    const std::string at = source + ":" + std::to_string(line_no) + ": ";
    size_t sp = line.find(' ');
    if (sp == 0 || sp == std::string_view::npos || line.find(' ', sp + 1) != std::string_view::npos)
      return Status::InvalidArgument(at + "expected 'name secret' or 'name sha256:<64 hex>'");
    ApiKey key;
    key.name = std::string(line.substr(0, sp));
    std::string_view secret = line.substr(sp + 1);
    if (secret.empty()) return Status::InvalidArgument(at + "the secret is empty");
    if (secret.rfind("sha256:", 0) == 0) {
      Result<Hash> h = HashFromHex(secret.substr(7));
      if (!h.ok()) return Status::InvalidArgument(at + "'sha256:' must be followed by 64 lowercase hex digits");
      key.secret_sha256 = *h;
    } else {
      key.secret_sha256 = Sha256Of(secret);
    }
    if (!names.insert(key.name).second) return Status::InvalidArgument(at + "the key '" + key.name + "' appears twice");
    keys.push_back(std::move(key));
  }
  if (keys.empty()) return Status::InvalidArgument(source + ": no API keys in the file");
  return keys;
}

Result<std::vector<ApiKey>> ReadApiKeysFile(const std::string& path) {
  AFTUNE_ASSIGN_OR_RETURN(std::string text, ReadOwnerOnlyFile(path, "API keys file", kMaxSecretsFileBytes));
  return ParseApiKeys(text, path);
}

std::string MatchApiKey(const std::vector<ApiKey>& keys, std::string_view token) {
  const Hash h = Sha256Of(token);
  std::string found;
  for (const ApiKey& k : keys)  // every key compared: the time does not depend on which matched
    if (sodium_memcmp(h.data(), k.secret_sha256.data(), h.size()) == 0) found = k.name;
  return found;
}

}  // namespace aftune
