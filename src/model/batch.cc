#include "model/batch.h"

#include "base/status.h"

namespace aftune {

void PackedBatch::Add(const std::vector<int32_t>& seq_tokens, const std::vector<int32_t>& seq_targets) {
  AFTUNE_CHECK(seq_targets.empty() || seq_targets.size() == seq_tokens.size());
  if (starts.empty()) starts.push_back(0);
  for (size_t i = 0; i < seq_tokens.size(); ++i) {
    tokens.push_back(seq_tokens[i]);
    positions.push_back(static_cast<int32_t>(i));
    if (!seq_targets.empty()) targets.push_back(seq_targets[i]);
  }
  starts.push_back(num_tokens());
}

PackedBatch MakeLmBatch(const std::vector<std::vector<int32_t>>& sequences) {
  PackedBatch b;
  for (const auto& s : sequences) {
    AFTUNE_CHECK(s.size() >= 2);
    b.Add(std::vector<int32_t>(s.begin(), s.end() - 1), std::vector<int32_t>(s.begin() + 1, s.end()));
  }
  return b;
}

}  // namespace aftune
