// Deterministic matrix multiplication.
//
// C[M,N] = beta * C + op(A)[M,K] * op(B)[K,N], beta in {0, 1}.
//   op(A) = A   (stored [M,K], row stride lda) when ta == kN,
//         = A^T (A stored [K,M], row stride lda) when ta == kT; likewise B.
//
// Canonical order (the determinism contract): every C[i][j] is the sequential
// fused-multiply-add chain
//     c = (accumulate ? C[i][j] : +0.0f);
//     for k = 0 .. K-1: c = fma(op(A)[i][k], op(B)[k][j], c);
// whatever the shapes, tile sizes, instruction set or thread count. GemmReference
// is that loop written plainly; Gemm must equal it bit for bit. Consequently a
// row of C depends only on the same row of op(A) (batch invariance), and a
// reduction over K can be continued later with accumulate = true.
// Work is split across threads over output tiles, never over K.
#pragma once

#include <cstdint>

namespace aftune {

class ThreadPool;

enum class Trans { kN, kT };

// REQUIRES: M, N, K >= 0; strides large enough for the stored shapes;
// C does not alias A or B. pool == nullptr runs on the calling thread.
void Gemm(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda,
          const float* B, int64_t ldb, float* C, int64_t ldc, bool accumulate, ThreadPool* pool);

// The naive triple loop defining Gemm's result. Same contract, no threads.
void GemmReference(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, const float* A,
                   int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc, bool accumulate);

}  // namespace aftune
