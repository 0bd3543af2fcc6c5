// A packed batch: several sequences laid end to end in one [N] token array.
// Each sequence attends only to itself, so results for one sequence do not
// depend on which others share the batch (batch invariance).
#pragma once

#include <cstdint>
#include <vector>

namespace aftune {

struct PackedBatch {
  std::vector<int32_t> tokens;     // [N] input ids
  std::vector<int32_t> targets;    // [N] next-token ids, or kIgnoreIndex; empty: no loss
  std::vector<int32_t> positions;  // [N] position of each token within its sequence
  std::vector<int64_t> starts;     // [S + 1] sequence s owns rows [starts[s], starts[s+1])

  int64_t num_tokens() const { return static_cast<int64_t>(tokens.size()); }
  int64_t num_sequences() const { return static_cast<int64_t>(starts.size()) - 1; }

  // Appends a sequence whose tokens start at position 0.
  // targets: same length as tokens (or empty when the batch has no targets).
  void Add(const std::vector<int32_t>& seq_tokens, const std::vector<int32_t>& seq_targets);
};

// A language-modelling batch from whole token sequences: the input is
// seq[0..n-2], the target seq[1..n-1] (every token after the first scored).
PackedBatch MakeLmBatch(const std::vector<std::vector<int32_t>>& sequences);

}  // namespace aftune
