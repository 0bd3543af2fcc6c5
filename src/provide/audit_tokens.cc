#include "provide/audit_tokens.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <set>

#include "base/file.h"

namespace aftune {

namespace {

std::vector<std::string> SplitSpaces(std::string_view line) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (true) {
    size_t sp = line.find(' ', pos);
    out.emplace_back(line.substr(pos, sp - pos));
    if (sp == std::string_view::npos) return out;
    pos = sp + 1;
  }
}

}  // namespace

bool AuditToken::MayOpen(std::string_view run) const {
  return std::any_of(runs.begin(), runs.end(), [run](const std::string& r) { return r == "*" || r == run; });
}

Result<std::vector<AuditToken>> ParseAuditTokens(std::string_view text, const std::string& source) {
  std::vector<AuditToken> out;
  std::set<std::string> clients;
  std::set<Hash> secrets;
  size_t line_no = 0;
  for (size_t pos = 0; pos < text.size();) {
    size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    ++line_no;
    if (line.empty() || line[0] == '#') continue;
    const std::string where = source + ":" + std::to_string(line_no);
    std::vector<std::string> f = SplitSpaces(line);
    if (f.size() < 3 || std::any_of(f.begin(), f.end(), [](const std::string& s) { return s.empty(); }))
      return Status::InvalidArgument(where + ": expected '<client> <secret> <run>[ <run>…]'");
    if (f[1].size() < 16) return Status::InvalidArgument(where + ": the secret is shorter than 16 characters");
    AuditToken t{f[0], Sha256Of(f[1]), std::vector<std::string>(f.begin() + 2, f.end())};
    if (!clients.insert(t.client).second)
      return Status::InvalidArgument(where + ": client '" + t.client + "' is named twice");
    if (!secrets.insert(t.secret_sha256).second)
      return Status::InvalidArgument(where + ": the secret of client '" + t.client + "' is another client's");
    out.push_back(std::move(t));
  }
  if (out.empty()) return Status::InvalidArgument(source + ": no tokens");
  return out;
}

Result<std::vector<AuditToken>> ReadAuditTokensFile(const std::string& path) {
  AFTUNE_ASSIGN_OR_RETURN(std::string text, ReadOwnerOnlyFile(path, "tokens file", kMaxSecretsFileBytes));
  return ParseAuditTokens(text, path);
}

const AuditToken* MatchAuditToken(const std::vector<AuditToken>& tokens, std::string_view presented) {
  const Hash h = Sha256Of(presented);
  const AuditToken* found = nullptr;
  for (const AuditToken& t : tokens)
    if (CRYPTO_memcmp(t.secret_sha256.data(), h.data(), h.size()) == 0) found = &t;
  return found;
}

}  // namespace aftune
