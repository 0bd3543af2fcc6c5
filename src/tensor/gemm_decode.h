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

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#endif

#include "tensor/dtype.h"
#include "tensor/gemm_kernels.h"
#include "tensor/gemm_pack.h"

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

// Register operations of one vector width. Transpose: r[j] holds dwords
// (j, 0 .. L-1) on entry and (0 .. L-1, j) on return.
struct Ymm {
  using F = __m256;
  static constexpr int kLanes = 8;
  static F Zero() { return _mm256_setzero_ps(); }
  static F Load(const void* p) { return _mm256_loadu_ps(static_cast<const float*>(p)); }
  static F Broadcast(const float* p) { return _mm256_broadcast_ss(p); }
  static F Fma(F a, F b, F c) { return _mm256_fmadd_ps(a, b, c); }
  static F PairLow(F d) { return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_castps_si256(d), 16)); }
  static F PairHigh(F d) {
    return _mm256_castsi256_ps(_mm256_and_si256(_mm256_castps_si256(d), _mm256_set1_epi32(int(0xFFFF0000u))));
  }
  static F LoadC(const float* c, int n) { return n >= 8 ? _mm256_loadu_ps(c) : _mm256_maskload_ps(c, Avx2Mask(n)); }
  static void StoreC(float* c, F v, int n) {
    if (n >= 8) _mm256_storeu_ps(c, v);
    else _mm256_maskstore_ps(c, Avx2Mask(n), v);
  }
  static void Transpose(F r[8]) {
    const F t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    const F t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    const F t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    const F t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    const F s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    const F s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    const F s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    const F s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    r[0] = _mm256_permute2f128_ps(s0, s4, 0x20), r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
    r[2] = _mm256_permute2f128_ps(s2, s6, 0x20), r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
    r[4] = _mm256_permute2f128_ps(s0, s4, 0x31), r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
    r[6] = _mm256_permute2f128_ps(s2, s6, 0x31), r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
  }
};

#endif  // __AVX2__ && __FMA__

#if defined(__AVX512F__)

// (GCC 12's unmasked shuffles and shifts pass _mm512_undefined_*, which
// -Wmaybe-uninitialized flags once inlined; the all-lanes masked forms used
// here are the same instructions.)
struct Zmm {
  using F = __m512;
  static constexpr int kLanes = 16;
  static F Zero() { return _mm512_setzero_ps(); }
  static F Load(const void* p) { return _mm512_loadu_ps(p); }
  static F Broadcast(const float* p) { return _mm512_set1_ps(*p); }
  static F Fma(F a, F b, F c) { return _mm512_fmadd_ps(a, b, c); }
  static F PairLow(F d) {
    const __m512i i = _mm512_castps_si512(d);
    return _mm512_castsi512_ps(_mm512_mask_slli_epi32(i, 0xFFFF, i, 16));
  }
  static F PairHigh(F d) {
    return _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(d), _mm512_set1_epi32(int(0xFFFF0000u))));
  }
  static F LoadC(const float* c, int n) { return _mm512_maskz_loadu_ps(Avx512Mask(n), c); }
  static void StoreC(float* c, F v, int n) { _mm512_mask_storeu_ps(c, Avx512Mask(n), v); }
  static F Unpacklo(F a, F b) { return _mm512_mask_unpacklo_ps(a, 0xFFFF, a, b); }
  static F Unpackhi(F a, F b) { return _mm512_mask_unpackhi_ps(a, 0xFFFF, a, b); }
  template <int kImm>
  static F Shuffle(F a, F b) { return _mm512_mask_shuffle_ps(a, 0xFFFF, a, b, kImm); }
  template <int kImm>
  static F Shuffle128(F a, F b) { return _mm512_mask_shuffle_f32x4(a, 0xFFFF, a, b, kImm); }
  static void Transpose(F r[16]) {
    F t[16];
    AFTUNE_GEMM_UNROLL
    for (int i = 0; i < 8; ++i) {
      t[2 * i] = Unpacklo(r[2 * i], r[2 * i + 1]);
      t[2 * i + 1] = Unpackhi(r[2 * i], r[2 * i + 1]);
    }
    AFTUNE_GEMM_UNROLL
    for (int i = 0; i < 4; ++i) {
      r[4 * i + 0] = Shuffle<0x44>(t[4 * i + 0], t[4 * i + 2]);
      r[4 * i + 1] = Shuffle<0xEE>(t[4 * i + 0], t[4 * i + 2]);
      r[4 * i + 2] = Shuffle<0x44>(t[4 * i + 1], t[4 * i + 3]);
      r[4 * i + 3] = Shuffle<0xEE>(t[4 * i + 1], t[4 * i + 3]);
    }
    // Now r[4q + m] holds, in each 128-bit lane g, dword m of rows 4q .. 4q+3
    // at columns 4g .. 4g+3; the last two steps gather the lanes.
    AFTUNE_GEMM_UNROLL
    for (int i = 0; i < 4; ++i) {
      t[i] = Shuffle128<0x88>(r[i], r[i + 4]);
      t[i + 4] = Shuffle128<0xDD>(r[i], r[i + 4]);
      t[i + 8] = Shuffle128<0x88>(r[i + 8], r[i + 12]);
      t[i + 12] = Shuffle128<0xDD>(r[i + 8], r[i + 12]);
    }
    AFTUNE_GEMM_UNROLL
    for (int i = 0; i < 4; ++i) {
      r[i] = Shuffle128<0x88>(t[i], t[i + 8]);
      r[i + 8] = Shuffle128<0xDD>(t[i], t[i + 8]);
      r[i + 4] = Shuffle128<0x88>(t[i + 4], t[i + 12]);
      r[i + 12] = Shuffle128<0xDD>(t[i + 4], t[i + 12]);
    }
  }
};

#endif  // __AVX512F__

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
