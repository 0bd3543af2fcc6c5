#include "protocol/commitment.h"

#include <vector>

#include "base/file.h"
#include "commit/note.h"

namespace aftune {

std::string CommitmentText(const TrainingCommitment& c) {
  return std::string(kCommitmentHeader) + "\ncontract " + HashToHex(c.contract) + "\ntrace " + HashToHex(c.trace) +
         "\nrecords " + std::to_string(c.records) + "\nsteps " + std::to_string(c.steps) + "\nfinal-state " +
         HashToHex(c.final_state) + "\nweights " + HashToHex(c.weights) + "\n";
}

namespace {

Result<uint64_t> ParseCount(std::string_view s, const std::string& where) {
  if (s.empty() || s.size() > 19 || (s.size() > 1 && s[0] == '0'))
    return Status::Corruption(where + ": not a canonical decimal number");
  uint64_t v = 0;
  for (char ch : s) {
    if (ch < '0' || ch > '9') return Status::Corruption(where + ": not a canonical decimal number");
    v = v * 10 + static_cast<uint64_t>(ch - '0');
  }
  return v;
}

}  // namespace

Result<TrainingCommitment> ParseCommitmentText(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) return Status::Corruption("commitment: the last line does not end in LF");
    lines.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  if (lines.size() != 7) return Status::Corruption("commitment: " + std::to_string(lines.size()) + " lines, expected 7");
  if (lines[0] != kCommitmentHeader) return Status::Corruption("commitment line 1: not '" + std::string(kCommitmentHeader) + "'");
  static constexpr const char* kFields[] = {"contract", "trace", "records", "steps", "final-state", "weights"};
  TrainingCommitment c;
  Hash* hashes[] = {&c.contract, &c.trace, nullptr, nullptr, &c.final_state, &c.weights};
  uint64_t* counts[] = {nullptr, nullptr, &c.records, &c.steps, nullptr, nullptr};
  for (size_t i = 0; i < 6; ++i) {
    const std::string where = "commitment line " + std::to_string(i + 2) + " (" + kFields[i] + ")";
    const std::string prefix = std::string(kFields[i]) + " ";
    std::string_view line = lines[i + 1];
    if (line.substr(0, prefix.size()) != prefix) return Status::Corruption(where + ": expected '" + prefix + "…'");
    std::string_view value = line.substr(prefix.size());
    if (hashes[i]) {
      Result<Hash> h = HashFromHex(value);
      if (!h.ok()) return Status::Corruption(where + ": " + h.status().message());
      *hashes[i] = *h;
    } else {
      AFTUNE_ASSIGN_OR_RETURN(*counts[i], ParseCount(value, where));
    }
  }
  return c;
}

Result<std::string> SignCommitment(const TrainingCommitment& c, const PrivateKey& key) {
  return SignNote(CommitmentText(c), key);
}

Result<TrainingCommitment> VerifyCommitment(std::string_view note, const PublicKey& provider) {
  PublicKey known[] = {provider};
  AFTUNE_ASSIGN_OR_RETURN(Note n, OpenNote(note, known));
  return ParseCommitmentText(n.text);
}

Status WriteCommitment(const std::string& path, const TrainingCommitment& c, const PrivateKey& key) {
  AFTUNE_ASSIGN_OR_RETURN(std::string note, SignCommitment(c, key));
  return WriteFileAtomic(path, note);
}

}  // namespace aftune
