// Decode tiles: a few rows of C against a weight matrix read in place, row by
// row, as stored (f32 or bf16).
//
// Internal to gemm.cc. Shape: C[MR, cols] (+)= op(A)[MR, K] W^T, W stored
// row-major [N, K] (Gemm's op(B) = B^T: a projection's weight [out, in]).
// Batch-1 and small-batch generation are this shape, and there every weight
// is used by at most MR rows, so the rate is the rate at which W's bytes
// arrive. Packing W first (the regular and skinny routes) reads it, writes a
// widened copy and reads that again; these tiles read each row of W once, a
// cache line at a time, and turn lines into lanes in registers.
//
// Same chains: lanes are columns of C (rows of W). A block of L rows x L
// dwords is loaded (one 64-byte line per row with zmm), transposed in
// registers, and each transposed vector (one k, L columns) is one fma step of
// every lane's chain, k = 0 .. K-1 in order, each column's accumulator held in
// one register lane from the first k to the last. So C[i][j] is Gemm's
// canonical chain: the same bits as every other route, for any MR or column
// split (the tests compare against GemmReference bit for bit).
//
// bf16 rows are transposed as dwords, each holding the pair (k, k+1): after
// the transpose, the pair's low half shifted up is element k widened and the
// high half masked is element k+1 widened (exact, as Storage<kBF16>::Widen).
// That moves 2L elements per shuffle instead of L.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "tensor/dtype.h"
#include "tensor/gemm_kernels.h"
#include "tensor/gemm_pack.h"
#include "tensor/gemm_simd.h"

namespace aftune::gemm_internal {

// op(A) packed k-major: op(A)[i][k] at a[k * MR + i] (so every broadcast is
// one fixed offset from one pointer); W row j at w + j * ldw (elements of the
// storage dtype); C[i][j] at c[i * ldc + j].
struct DecodeArgs {
  int64_t K;
  const float* a;
  const void* w;
  int64_t ldw;
  float* c;
  int64_t ldc;
  bool load_c;
};

using DecodeFn = void (*)(const DecodeArgs& p, int64_t j0, int cols);

#if defined(__AVX2__) && defined(__FMA__)

// Elements of W per row per block: one vector of dwords.
template <class V, DType D>
constexpr int kDecodeBlock = D == DType::kBF16 ? 2 * V::kLanes : V::kLanes;

// One k block of an MR x (L * NV) tile: rows[j] points at row j's first
// element of the block; kr (<= the block) elements of it are valid. Every
// lane's chain takes its k steps in order.
template <class V, DType D, int MR, int NV, bool kFull>
inline void DecodeBlock(const typename Storage<D>::T* const* rows, int64_t off, const float* a, int kr,
                        typename V::F (&acc)[MR][NV]) {
  constexpr int L = V::kLanes;
  AFTUNE_GEMM_UNROLL
  for (int v = 0; v < NV; ++v) {
    typename V::F r[L];
    AFTUNE_GEMM_UNROLL
    for (int j = 0; j < L; ++j) {
      const auto* p = rows[v * L + j] + off;
      // Rows are far apart (a page or more): fetch a few lines ahead by hand.
      if constexpr (kFull) __builtin_prefetch(reinterpret_cast<const char*>(p) + 512);
      r[j] = V::Load(p);
    }
    V::Transpose(r);
    AFTUNE_GEMM_UNROLL
    for (int q = 0; q < L; ++q) {
      if constexpr (D == DType::kBF16) {
        const typename V::F lo = V::PairLow(r[q]), hi = V::PairHigh(r[q]);
        AFTUNE_GEMM_UNROLL
        for (int i = 0; i < MR; ++i) {
          if (kFull || 2 * q < kr) acc[i][v] = V::Fma(V::Broadcast(a + 2 * q * MR + i), lo, acc[i][v]);
          if (kFull || 2 * q + 1 < kr) acc[i][v] = V::Fma(V::Broadcast(a + (2 * q + 1) * MR + i), hi, acc[i][v]);
        }
      } else {
        AFTUNE_GEMM_UNROLL
        for (int i = 0; i < MR; ++i)
          if (kFull || q < kr) acc[i][v] = V::Fma(V::Broadcast(a + q * MR + i), r[q], acc[i][v]);
      }
    }
  }
}

// C[0:MR, j0 : j0 + cols] for cols <= L * NV. Rows of W past the last column
// are not read (their lanes repeat the last row and are not stored).
template <class V, DType D, int MR, int NV>
void DecodeTile(const DecodeArgs& p, int64_t j0, int cols) {
  using T = typename Storage<D>::T;
  constexpr int L = V::kLanes, kb = kDecodeBlock<V, D>;
  const T* rows[L * NV];
  for (int j = 0; j < L * NV; ++j) rows[j] = static_cast<const T*>(p.w) + (j0 + std::min(j, cols - 1)) * p.ldw;
  typename V::F acc[MR][NV];
  AFTUNE_GEMM_UNROLL
  for (int i = 0; i < MR; ++i)
    AFTUNE_GEMM_UNROLL
    for (int v = 0; v < NV; ++v)
      acc[i][v] = p.load_c ? V::LoadC(p.c + i * p.ldc + j0 + v * L, cols - v * L) : V::Zero();
  int64_t k0 = 0;
  for (; k0 + kb <= p.K; k0 += kb)
    DecodeBlock<V, D, MR, NV, true>(rows, k0, p.a + k0 * MR, kb, acc);
  if (k0 < p.K) {
    // The last partial block, from a zero-padded copy (the padding is loaded,
    // never multiplied).
    const int kr = static_cast<int>(p.K - k0);
    T tail[L * NV][kb] = {};
    const T* tail_rows[L * NV];
    for (int j = 0; j < L * NV; ++j) {
      std::memcpy(tail[j], rows[j] + k0, static_cast<size_t>(kr) * sizeof(T));
      tail_rows[j] = tail[j];
    }
    DecodeBlock<V, D, MR, NV, false>(tail_rows, 0, p.a + k0 * MR, kr, acc);
  }
  AFTUNE_GEMM_UNROLL
  for (int i = 0; i < MR; ++i)
    AFTUNE_GEMM_UNROLL
    for (int v = 0; v < NV; ++v)
      if (v * L < cols) V::StoreC(p.c + i * p.ldc + j0 + v * L, acc[i][v], cols - v * L);
}

#endif  // __AVX2__ && __FMA__

}  // namespace aftune::gemm_internal
