#include "tensor/gemm.h"

#include <cmath>

#include "tensor/thread_pool.h"

namespace aftune {

void GemmReference(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, const float* A,
                   int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc, bool accumulate) {
  for (int64_t i = 0; i < M; ++i) {
    for (int64_t j = 0; j < N; ++j) {
      float c = accumulate ? C[i * ldc + j] : 0.0f;
      for (int64_t k = 0; k < K; ++k) {
        float a = ta == Trans::kN ? A[i * lda + k] : A[k * lda + i];
        float b = tb == Trans::kN ? B[k * ldb + j] : B[j * ldb + k];
        c = std::fma(a, b, c);
      }
      C[i * ldc + j] = c;
    }
  }
}

// Placeholder split over rows until the blocked kernel lands.
void Gemm(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda,
          const float* B, int64_t ldb, float* C, int64_t ldc, bool accumulate, ThreadPool* pool) {
  auto rows = [&](int64_t begin, int64_t end) {
    const float* a = ta == Trans::kN ? A + begin * lda : A + begin;
    GemmReference(ta, tb, end - begin, N, K, a, lda, B, ldb, C + begin * ldc, ldc, accumulate);
  };
  if (pool) pool->ParallelFor(M, 4, rows);
  else rows(0, M);
}

}  // namespace aftune
