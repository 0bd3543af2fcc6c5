// Token embedding lookup and its gradient.
#pragma once

#include <cstdint>

namespace aftune {

// table [V, C], ids [N] -> out [N, C]. REQUIRES: every id in [0, V).
void EmbeddingForward(const float* table, const int32_t* ids, float* out, int64_t N, int64_t V,
                      int64_t C);

// dtable [V, C] += dout rows scattered by id; each table row sums its tokens'
// gradients in ascending token order. Threads split over columns.
void EmbeddingBackward(const float* dout, const int32_t* ids, float* dtable, int64_t N, int64_t C);

}  // namespace aftune
