// The challenge of a training audit: which cells of the audit grid the
// auditor re-executes (DESIGN.md, "Training audit"; docs/audit.md).
//
// Seed. challenge_seed = SHA-256(trace root (32 bytes) ‖ nonce bytes): the
// provider committed to the trace before it could know the nonce, and anyone
// holding both can recompute the draw.
//
// Random words. Word k (k = 0, 1, …) is bytes [4j, 4j+4) of
// SHA-256(challenge_seed ‖ u64 LE c), read little-endian, with c = k / 8 and
// j = k mod 8. A bounded draw in [0, r) is batch_sampler.h's BoundedDraw
// (Lemire's multiply-shift with rejection) over these words.
//
// Cells. Cell (L, S) is layer-block L over step-block S (protocol/trace_layout.h);
// its id is S · B + L. Strategies, each drawing min(samples, population)
// distinct cells:
//   uniform   population: every cell. Partial Fisher–Yates over the ids
//             0..n-1: for i = 0..s-1, j = i + Draw(n - i), swap(p[i], p[j]);
//             the sample is p[0..s).
//   input     population: the cells of layer-block 0 (the block that sees the
//             data first: tokens, embedding), ids of step-blocks 0..n_S-1;
//             the same partial Fisher–Yates.
//   weighted  population: every cell, weight 2 for the cells of the first and
//             the last layer-block (the data enter the first, the loss leaves
//             the last), 1 for the others; s sequential draws without
//             replacement: r = Draw(W) with W the weight left, the cell whose
//             cumulative weight (ids ascending, drawn cells removed) first
//             exceeds r.
// The sample is reported sorted by (L, S) (the order the auditor runs it).
#pragma once

#include <cstdint>
#include <compare>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "commit/sha256.h"
#include "protocol/trace_layout.h"

namespace aftune {

enum class ChallengeStrategy { kUniform, kInput, kWeighted };

// "uniform" | "input" | "weighted"; kInvalidArgument naming the value.
Result<ChallengeStrategy> ParseChallengeStrategy(std::string_view name);
std::string_view ChallengeStrategyName(ChallengeStrategy s);

struct Cell {
  int64_t block = 0;       // L, layer-block
  int64_t step_block = 0;  // S
  bool operator==(const Cell&) const = default;
  // Ordered by layer-block, then step-block: the order the auditor runs
  // them in (one layer-block's base tensors loaded at a time).
  auto operator<=>(const Cell& o) const { return block != o.block ? block <=> o.block : step_block <=> o.step_block; }
};

Hash ChallengeSeed(const Hash& trace_root, std::span<const uint8_t> nonce);

// min(samples, n) distinct indices of 0..n-1 by the partial Fisher–Yates
// above over the seed's random words, in draw order (the uniform strategy's
// draw, and the inference audit's draw of receipts). REQUIRES: 0 <= n <
// 2^32, samples >= 0.
std::vector<int64_t> DrawIndices(const Hash& seed, int64_t n, int64_t samples);

// The cells drawn as above. REQUIRES: layout.cells() >= 1, samples >= 0.
std::vector<Cell> DrawCells(const Hash& seed, const TraceLayout& layout, ChallengeStrategy strategy,
                            int64_t samples);

// "L,S;L,S;…" (decimal, no spaces, each cell inside the grid, no repeats),
// sorted. kInvalidArgument naming the offending item.
Result<std::vector<Cell>> ParseCells(std::string_view text, const TraceLayout& layout);

// An upper bound on the probability that the sample misses every deviating
// cell when a fraction f of the population deviates (d = max(1, ceil(f·N))
// cells, placed where the sample is least likely to look):
//   prod_{i<s} (1 - d·w_min / (W - i·w_min))   (0 once a factor is <= 0)
// with N, W, w_min the population's size, total weight and least weight. For
// uniform and input this is the exact hypergeometric C(N-d, s)/C(N, s)
// (≤ (1-f)^s); input's population is the input cells. nullopt for an
// explicit list of cells (not random).
struct Population {
  int64_t size = 0;
  int64_t total_weight = 0;
  int64_t min_weight = 1;
};
Population ChallengePopulation(const TraceLayout& layout, ChallengeStrategy strategy);
double MissProbabilityBound(const Population& p, int64_t samples, double f);

}  // namespace aftune
