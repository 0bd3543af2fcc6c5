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
//
// The B operand may also be stored as bf16 or f16 (StoredMatrix): Gemm widens
// its elements to f32 as it packs them. Widening is exact, so the result is
// bit-identical to Gemm on the widened matrix: the storage dtype of the
// weights changes memory and bandwidth, never a bit.
#pragma once

#include <cstdint>

#include "tensor/dtype.h"

namespace aftune {

class ThreadPool;

enum class Trans { kN, kT };

// A matrix as stored: row-major `dtype` elements (F32, BF16 or F16; bf16 and
// f16 as their uint16_t bit patterns), row stride `ld` elements. A view: the
// caller owns the data.
struct StoredMatrix {
  DType dtype = DType::kF32;
  const void* data = nullptr;
  int64_t ld = 0;

  // Element (row, col) widened to f32 (for references and tests).
  float At(int64_t row, int64_t col) const;
};

// REQUIRES: M, N, K >= 0; strides large enough for the stored shapes;
// C does not alias A or B. pool == nullptr runs on the calling thread.
void Gemm(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda,
          const float* B, int64_t ldb, float* C, int64_t ldc, bool accumulate, ThreadPool* pool);

// Gemm with B as stored. REQUIRES: Gemm's; IsFloatStorage(B.dtype) (aborts
// otherwise).
void Gemm(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, StoredMatrix B,
          float* C, int64_t ldc, bool accumulate, ThreadPool* pool);

// The naive triple loop defining Gemm's result. Same contract, no threads.
void GemmReference(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, const float* A,
                   int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc, bool accumulate);
// The same loop reading B as stored, each element widened where it is used.
void GemmReference(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda,
                   StoredMatrix B, float* C, int64_t ldc, bool accumulate);

}  // namespace aftune
