// Packing copies for Gemm: move floats into the micro-kernels' panel layouts.
//
// Internal to gemm.cc. These only copy floats (no arithmetic), so they cannot
// change a result; they exist for speed. Both layouts are "k-major": the floats
// one k step of the micro-kernel needs are adjacent.
#pragma once

#include <cstdint>
#include <cstring>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

namespace aftune::gemm_internal {

// Cuts rows of src into panels of `panel` columns, k-major:
//   panel q (columns q*panel .. q*panel + w - 1, w = min(panel, width - q*panel))
//   starts at dst + q * panel * kc and holds src[k * ld_src + q*panel + j] at
//   [k * w + j], for j < w, k < kc.
// Reads each source row once, left to right (one page visit per row, whatever
// the number of panels).
inline void PackRowsToPanels(const float* src, int64_t ld_src, int64_t width, int64_t kc,
                             int panel, float* dst) {
  const int64_t full = width / panel;
  const int tail = static_cast<int>(width - full * panel);
  float* tail_dst = dst + full * panel * kc;
  const size_t panel_bytes = static_cast<size_t>(panel) * sizeof(float);
  const size_t tail_bytes = static_cast<size_t>(tail) * sizeof(float);
  // Rows are often a page or more apart, where hardware prefetchers stop; fetch
  // kAhead rows ahead by hand (prefetches past the end are harmless: never fault).
  constexpr int64_t kAhead = 16;
  auto prefetch_row = [&](int64_t k) {
    const char* row = reinterpret_cast<const char*>(src + (k + kAhead) * ld_src);
    for (int64_t byte = 0; byte < width * 4; byte += 64) __builtin_prefetch(row + byte);
    __builtin_prefetch(row + width * 4 - 1);
  };
  auto copy = [&]<int W>() {
    for (int64_t k = 0; k < kc; ++k) {
      prefetch_row(k);
      const float* row = src + k * ld_src;
      for (int64_t q = 0; q < full; ++q)
        std::memcpy(dst + q * W * kc + k * W, row + q * W, W * sizeof(float));
      if (tail) std::memcpy(tail_dst + k * tail, row + full * W, tail_bytes);
    }
  };
  switch (panel) {
    case 32: copy.operator()<32>(); return;
    case 16: copy.operator()<16>(); return;
    case 12: copy.operator()<12>(); return;
    case 8: copy.operator()<8>(); return;
    case 6: copy.operator()<6>(); return;
    case 4: copy.operator()<4>(); return;
    default:
      for (int64_t k = 0; k < kc; ++k) {
        prefetch_row(k);
        const float* row = src + k * ld_src;
        for (int64_t q = 0; q < full; ++q)
          std::memcpy(dst + q * panel * kc + k * panel, row + q * panel, panel_bytes);
        if (tail) std::memcpy(tail_dst + k * tail, row + full * panel, tail_bytes);
      }
  }
}

#if defined(__AVX2__)
// Transposes 8 rows x 8 floats: dst[i * ld_dst + r] = src[r * ld_src + i].
inline void Transpose8x8(const float* src, int64_t ld_src, float* dst, int64_t ld_dst) {
  __m256 r0 = _mm256_loadu_ps(src + 0 * ld_src), r1 = _mm256_loadu_ps(src + 1 * ld_src);
  __m256 r2 = _mm256_loadu_ps(src + 2 * ld_src), r3 = _mm256_loadu_ps(src + 3 * ld_src);
  __m256 r4 = _mm256_loadu_ps(src + 4 * ld_src), r5 = _mm256_loadu_ps(src + 5 * ld_src);
  __m256 r6 = _mm256_loadu_ps(src + 6 * ld_src), r7 = _mm256_loadu_ps(src + 7 * ld_src);
  __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
  __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
  __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
  __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
  __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  _mm256_storeu_ps(dst + 0 * ld_dst, _mm256_permute2f128_ps(s0, s4, 0x20));
  _mm256_storeu_ps(dst + 1 * ld_dst, _mm256_permute2f128_ps(s1, s5, 0x20));
  _mm256_storeu_ps(dst + 2 * ld_dst, _mm256_permute2f128_ps(s2, s6, 0x20));
  _mm256_storeu_ps(dst + 3 * ld_dst, _mm256_permute2f128_ps(s3, s7, 0x20));
  _mm256_storeu_ps(dst + 4 * ld_dst, _mm256_permute2f128_ps(s0, s4, 0x31));
  _mm256_storeu_ps(dst + 5 * ld_dst, _mm256_permute2f128_ps(s1, s5, 0x31));
  _mm256_storeu_ps(dst + 6 * ld_dst, _mm256_permute2f128_ps(s2, s6, 0x31));
  _mm256_storeu_ps(dst + 7 * ld_dst, _mm256_permute2f128_ps(s3, s7, 0x31));
}

// Transposes 4 rows x 8 floats: dst[i * ld_dst + r] = src[r * ld_src + i].
inline void Transpose4x8(const float* src, int64_t ld_src, float* dst, int64_t ld_dst) {
  __m256 r0 = _mm256_loadu_ps(src + 0 * ld_src), r1 = _mm256_loadu_ps(src + 1 * ld_src);
  __m256 r2 = _mm256_loadu_ps(src + 2 * ld_src), r3 = _mm256_loadu_ps(src + 3 * ld_src);
  __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
  __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
  // sN holds columns N (low half) and N + 4 (high half).
  __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  _mm_storeu_ps(dst + 0 * ld_dst, _mm256_castps256_ps128(s0));
  _mm_storeu_ps(dst + 1 * ld_dst, _mm256_castps256_ps128(s1));
  _mm_storeu_ps(dst + 2 * ld_dst, _mm256_castps256_ps128(s2));
  _mm_storeu_ps(dst + 3 * ld_dst, _mm256_castps256_ps128(s3));
  _mm_storeu_ps(dst + 4 * ld_dst, _mm256_extractf128_ps(s0, 1));
  _mm_storeu_ps(dst + 5 * ld_dst, _mm256_extractf128_ps(s1, 1));
  _mm_storeu_ps(dst + 6 * ld_dst, _mm256_extractf128_ps(s2, 1));
  _mm_storeu_ps(dst + 7 * ld_dst, _mm256_extractf128_ps(s3, 1));
}
#endif  // __AVX2__

// dst[k * ld_dst + r] = src[r * ld_src + k] for r < rows, k < kc.
inline void PackTransposed(const float* src, int64_t ld_src, int rows, int64_t kc, float* dst,
                           int64_t ld_dst) {
  int r = 0;
  int64_t k_vec = 0;
#if defined(__AVX2__)
  k_vec = kc / 8 * 8;
  // 16 rows together fill whole 64-byte lines of dst at each k (more rows at
  // once measured slower: rows a power-of-two apart share L1 sets).
  for (; r + 16 <= rows; r += 16)
    for (int64_t k = 0; k < k_vec; k += 8) {
      Transpose8x8(src + r * ld_src + k, ld_src, dst + k * ld_dst + r, ld_dst);
      Transpose8x8(src + (r + 8) * ld_src + k, ld_src, dst + k * ld_dst + r + 8, ld_dst);
    }
  for (; r + 8 <= rows; r += 8)
    for (int64_t k = 0; k < k_vec; k += 8)
      Transpose8x8(src + r * ld_src + k, ld_src, dst + k * ld_dst + r, ld_dst);
  for (; r + 4 <= rows; r += 4)
    for (int64_t k = 0; k < k_vec; k += 8)
      Transpose4x8(src + r * ld_src + k, ld_src, dst + k * ld_dst + r, ld_dst);
#endif
  // Rows the vector blocks did not cover (all k), then the k tail of those they did.
  for (int rr = r; rr < rows; ++rr)
    for (int64_t k = 0; k < kc; ++k) dst[k * ld_dst + rr] = src[rr * ld_src + k];
  for (int rr = 0; rr < r; ++rr)
    for (int64_t k = k_vec; k < kc; ++k) dst[k * ld_dst + rr] = src[rr * ld_src + k];
}

}  // namespace aftune::gemm_internal
