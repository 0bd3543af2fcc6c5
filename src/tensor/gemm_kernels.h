// Gemm micro-kernels: C[MR, n] (+)= Ap[MR, kc] * Bp[kc, n], one per instruction set.
//
// Internal to gemm.cc. Every kernel keeps one accumulator lane per C element and
// walks k = 0 .. kc-1 in order, so each element is the canonical fma chain of
// gemm.h, continued from C (load_c) or started from +0. Tile shapes, vector width
// and masking change only which lanes hold which elements, never an element's
// sequence of operations; that is why every kernel here agrees bit for bit.
//
// Operand layouts (all floats); NR = NV * lanes is the tile width:
//   a  packed A micro-panel: a[k * MR + r] = op(A)[i0 + r][k0 + k], k < kc, r < MR.
//   b  packed B panel: b[k * ldb + j] = op(B)[k0 + k][j0 + j], j < n, k < kc.
//   c  C[i0 + r][j0 + j] at c[r * ldc + j], r < MR, j < n.
// REQUIRES: kc >= 1, 1 <= n <= NR, ldb >= n. When kMasked is false, n == NR. When
// kMasked is true, n > NR - lanes, and no lane j >= n of b or c is read or written.
#pragma once

#include <cmath>
#include <cstdint>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#endif

// Fully unrolls a loop over the register tile early enough that GCC keeps the
// accumulator arrays in registers (without it, GCC 12 spills them every k).
#define AFTUNE_GEMM_UNROLL _Pragma("GCC unroll 16")

namespace aftune::gemm_internal {

using KernelFn = void (*)(int64_t kc, const float* a, const float* b, int64_t ldb, float* c,
                          int64_t ldc, int n, bool load_c);

// Portable kernel: plain std::fma, MR x NR scalars. Used by builds without AVX2/FMA
// and by the tests as a third implementation to agree with.
template <int MR, int NR>
void KernelPortable(int64_t kc, const float* a, const float* b, int64_t ldb, float* c,
                    int64_t ldc, int n, bool load_c) {
  float acc[MR][NR];
  AFTUNE_GEMM_UNROLL
  for (int r = 0; r < MR; ++r)
    for (int j = 0; j < NR; ++j) acc[r][j] = load_c && j < n ? c[r * ldc + j] : 0.0f;
  for (int64_t k = 0; k < kc; ++k) {
    AFTUNE_GEMM_UNROLL
    for (int r = 0; r < MR; ++r) {
      const float av = a[r];
      for (int j = 0; j < n; ++j) acc[r][j] = std::fma(av, b[j], acc[r][j]);
    }
    a += MR;
    b += ldb;
  }
  AFTUNE_GEMM_UNROLL
  for (int r = 0; r < MR; ++r)
    for (int j = 0; j < n; ++j) c[r * ldc + j] = acc[r][j];
}

#if defined(__AVX2__) && defined(__FMA__)

// AVX2 kernel: MR rows x NV vectors of 8 lanes (6 x 2 ymm = the 6x16 tile with
// 12 accumulators). Masked lanes use vmaskmovps, which neither reads nor faults.
inline __m256i Avx2Mask(int n) {
  const __m256i iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), iota);
}

template <int MR, int NV, bool kMasked>
void KernelAvx2(int64_t kc, const float* a, const float* b, int64_t ldb, float* c,
                int64_t ldc, int n, bool load_c) {
  __m256i mask[NV];
  AFTUNE_GEMM_UNROLL
  for (int v = 0; v < NV; ++v) mask[v] = Avx2Mask(kMasked ? n - 8 * v : 8);
  __m256 acc[MR][NV];
  AFTUNE_GEMM_UNROLL
  for (int r = 0; r < MR; ++r)
    AFTUNE_GEMM_UNROLL
    for (int v = 0; v < NV; ++v) {
      const float* p = c + r * ldc + 8 * v;
      if (!load_c) acc[r][v] = _mm256_setzero_ps();
      else acc[r][v] = kMasked ? _mm256_maskload_ps(p, mask[v]) : _mm256_loadu_ps(p);
    }
  for (int64_t k = 0; k < kc; ++k) {
    __m256 bv[NV];
    AFTUNE_GEMM_UNROLL
    for (int v = 0; v < NV; ++v)
      bv[v] = kMasked ? _mm256_maskload_ps(b + 8 * v, mask[v]) : _mm256_loadu_ps(b + 8 * v);
    AFTUNE_GEMM_UNROLL
    for (int r = 0; r < MR; ++r) {
      const __m256 av = _mm256_broadcast_ss(a + r);
      AFTUNE_GEMM_UNROLL
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm256_fmadd_ps(av, bv[v], acc[r][v]);
    }
    a += MR;
    b += ldb;
  }
  AFTUNE_GEMM_UNROLL
  for (int r = 0; r < MR; ++r)
    AFTUNE_GEMM_UNROLL
    for (int v = 0; v < NV; ++v) {
      float* p = c + r * ldc + 8 * v;
      if (kMasked) _mm256_maskstore_ps(p, mask[v], acc[r][v]);
      else _mm256_storeu_ps(p, acc[r][v]);
    }
}

#endif  // __AVX2__ && __FMA__

#if defined(__AVX512F__)

// AVX-512 kernel: MR rows x NV vectors of 16 lanes. Masked lanes use k-masks.
inline __mmask16 Avx512Mask(int n) {
  return n >= 16 ? __mmask16(0xFFFF) : n <= 0 ? __mmask16(0) : __mmask16((1u << n) - 1);
}

template <int MR, int NV, bool kMasked>
void KernelAvx512(int64_t kc, const float* a, const float* b, int64_t ldb, float* c,
                  int64_t ldc, int n, bool load_c) {
  __mmask16 mask[NV];
  AFTUNE_GEMM_UNROLL
  for (int v = 0; v < NV; ++v) mask[v] = Avx512Mask(kMasked ? n - 16 * v : 16);
  __m512 acc[MR][NV];
  AFTUNE_GEMM_UNROLL
  for (int r = 0; r < MR; ++r)
    AFTUNE_GEMM_UNROLL
    for (int v = 0; v < NV; ++v) {
      const float* p = c + r * ldc + 16 * v;
      if (!load_c) acc[r][v] = _mm512_setzero_ps();
      else acc[r][v] = kMasked ? _mm512_maskz_loadu_ps(mask[v], p) : _mm512_loadu_ps(p);
    }
  for (int64_t k = 0; k < kc; ++k) {
    __m512 bv[NV];
    AFTUNE_GEMM_UNROLL
    for (int v = 0; v < NV; ++v)
      bv[v] = kMasked ? _mm512_maskz_loadu_ps(mask[v], b + 16 * v) : _mm512_loadu_ps(b + 16 * v);
    AFTUNE_GEMM_UNROLL
    for (int r = 0; r < MR; ++r) {
      const __m512 av = _mm512_set1_ps(a[r]);
      AFTUNE_GEMM_UNROLL
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_fmadd_ps(av, bv[v], acc[r][v]);
    }
    a += MR;
    b += ldb;
  }
  AFTUNE_GEMM_UNROLL
  for (int r = 0; r < MR; ++r)
    AFTUNE_GEMM_UNROLL
    for (int v = 0; v < NV; ++v) {
      float* p = c + r * ldc + 16 * v;
      if (kMasked) _mm512_mask_storeu_ps(p, mask[v], acc[r][v]);
      else _mm512_storeu_ps(p, acc[r][v]);
    }
}

#endif  // __AVX512F__

}  // namespace aftune::gemm_internal
