// Whole-register operations the packing and decode code share: one struct
// per vector width (Ymm: AVX2 + FMA, 8 lanes; Zmm: AVX-512, 16 lanes).
//
// Internal to gemm.cc. Transpose(r) turns L rows of L dwords into L columns:
// r[j] holds dwords (j, 0 .. L-1) on entry and (0 .. L-1, j) on return. It
// only moves bits, so it works on floats and on pairs of bf16 alike.
// PairLow / PairHigh widen the two bf16 halves of each dword (the element at
// the lower address is the low half): exactly Storage<kBF16>::Widen.
#pragma once

#include <cstdint>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#endif

#include "tensor/gemm_kernels.h"

namespace aftune::gemm_internal {

#if defined(__AVX2__) && defined(__FMA__)

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

}  // namespace aftune::gemm_internal
