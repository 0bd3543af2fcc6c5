#include "commit/checkpoint.h"

#include "commit/encoding.h"
#include "commit/key.h"

namespace aftune {

namespace {

// An extension line: non-empty, UTF-8, no control characters.
bool IsValidExtension(std::string_view line) {
  if (line.empty() || !IsValidUtf8(line)) return false;
  for (char c : line) {
    if (static_cast<uint8_t>(c) < 0x20) return false;
  }
  return true;
}

}  // namespace

Result<std::string> FormatCheckpoint(const Checkpoint& c) {
  if (!IsValidKeyName(c.origin)) return Status::InvalidArgument("checkpoint: origin is not a valid key name");
  if (c.extensions.size() > kMaxCheckpointExtensions) {
    return Status::InvalidArgument("checkpoint: too many extension lines");
  }
  std::string out = c.origin + "\n" + std::to_string(c.size) + "\n" + Base64Encode(c.root) + "\n";
  for (const std::string& e : c.extensions) {
    if (!IsValidExtension(e)) {
      return Status::InvalidArgument("checkpoint: extension lines must be non-empty single lines");
    }
    out += e + "\n";
  }
  if (out.size() > kMaxCheckpointBytes) return Status::InvalidArgument("checkpoint: too long");
  return out;
}

Result<Checkpoint> ParseCheckpoint(std::string_view text) {
  if (text.size() > kMaxCheckpointBytes) return Status::Corruption("checkpoint: too long");
  if (text.empty() || text.back() != '\n') return Status::Corruption("checkpoint: does not end in a newline");
  std::vector<std::string_view> lines;
  for (std::string_view rest = text; !rest.empty();) {
    size_t nl = rest.find('\n');
    lines.push_back(rest.substr(0, nl));
    rest.remove_prefix(nl + 1);
  }
  if (lines.size() < 3) return Status::Corruption("checkpoint: fewer than three lines");
  if (lines.size() > 3 + kMaxCheckpointExtensions) return Status::Corruption("checkpoint: too many extension lines");
  Checkpoint c;
  if (!IsValidKeyName(lines[0])) return Status::Corruption("checkpoint: origin is not a valid key name");
  c.origin = std::string(lines[0]);
  Result<uint64_t> size = ParseDecimalU64(lines[1]);
  if (!size.ok()) return size.status().WithContext("checkpoint: tree size");
  c.size = *size;
  Result<std::vector<uint8_t>> root = Base64Decode(lines[2]);
  if (!root.ok()) return root.status().WithContext("checkpoint: root hash");
  if (root->size() != c.root.size()) return Status::Corruption("checkpoint: root hash is not 32 bytes");
  std::copy(root->begin(), root->end(), c.root.begin());
  for (size_t i = 3; i < lines.size(); i++) {
    if (!IsValidExtension(lines[i])) {
      return Status::Corruption("checkpoint: extension line " + std::to_string(i - 2) + " is empty or malformed");
    }
    c.extensions.emplace_back(lines[i]);
  }
  return c;
}

}  // namespace aftune
