#include "tensor/embedding.h"

#include <algorithm>

#include "base/status.h"
#include "tensor/thread_pool.h"

namespace aftune {

void EmbeddingForward(const float* table, const int32_t* ids, float* out, int64_t N, int64_t V,
                      int64_t C) {
  DefaultPool().ParallelFor(N, 64, [&](int64_t begin, int64_t end) {
    for (int64_t n = begin; n < end; ++n) {
      AFTUNE_CHECK(ids[n] >= 0 && ids[n] < V);
      std::copy(table + ids[n] * C, table + (ids[n] + 1) * C, out + n * C);
    }
  });
}

void EmbeddingBackward(const float* dout, const int32_t* ids, float* dtable, int64_t N, int64_t C) {
  DefaultPool().ParallelFor(C, 64, [&](int64_t begin, int64_t end) {
    for (int64_t n = 0; n < N; ++n) {
      float* row = dtable + ids[n] * C;
      const float* g = dout + n * C;
      for (int64_t c = begin; c < end; ++c) row[c] += g[c];
    }
  });
}

}  // namespace aftune
