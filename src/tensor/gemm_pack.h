// Packing copies for Gemm: move floats into the micro-kernels' panel layouts.
//
// Internal to gemm.cc. These only copy floats (no arithmetic), so they cannot
// change a result; they exist for speed. Both layouts are "k-major": the floats
// one k step of the micro-kernel needs are adjacent.
//
// The source may be stored as f32, bf16 or f16 (Storage<D>): its elements are
// widened to f32 as they are copied. Widening is exact (every bf16 and f16
// value is an f32 value), so a packed panel holds the same floats as one
// packed from the widened matrix, and every product downstream is the same.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#endif

#include "tensor/dtype.h"
#include "tensor/gemm_simd.h"

namespace aftune::gemm_internal {

// The element type of a storage dtype and its exact widening to f32.
template <DType D>
struct Storage;
template <>
struct Storage<DType::kF32> {
  using T = float;
  static float Widen(float x) { return x; }
};
template <>
struct Storage<DType::kBF16> {
  using T = uint16_t;
  // BF16ToF32 (dtype.cc), inline: the top half of an f32.
  static float Widen(uint16_t h) { return std::bit_cast<float>(static_cast<uint32_t>(h) << 16); }
};
template <>
struct Storage<DType::kF16> {
  using T = uint16_t;
  static float Widen(uint16_t h) { return F16ToF32(h); }
};

// dst[i] = Widen(src[i]) for i < n.
template <DType D>
inline void CopyWidened(float* dst, const typename Storage<D>::T* src, size_t n) {
  if constexpr (D == DType::kF32) {
    std::memcpy(dst, src, n * sizeof(float));
  } else {
    for (size_t i = 0; i < n; ++i) dst[i] = Storage<D>::Widen(src[i]);
  }
}

// Cuts rows of src into panels of `panel` columns, k-major:
//   panel q (columns q*panel .. q*panel + w - 1, w = min(panel, width - q*panel))
//   starts at dst + q * panel * kc and holds src[k * ld_src + q*panel + j] at
//   [k * w + j], for j < w, k < kc.
// Reads each source row once, left to right (one page visit per row, whatever
// the number of panels).
template <DType D = DType::kF32>
inline void PackRowsToPanels(const typename Storage<D>::T* src, int64_t ld_src, int64_t width, int64_t kc,
                             int panel, float* dst) {
  using T = typename Storage<D>::T;
  const int64_t full = width / panel;
  const int tail = static_cast<int>(width - full * panel);
  float* tail_dst = dst + full * panel * kc;
  // Rows are often a page or more apart, where hardware prefetchers stop; fetch
  // kAhead rows ahead by hand (prefetches past the end are harmless: never fault).
  constexpr int64_t kAhead = 16;
  auto prefetch_row = [&](int64_t k) {
    const char* row = reinterpret_cast<const char*>(src + (k + kAhead) * ld_src);
    for (int64_t byte = 0; byte < width * static_cast<int64_t>(sizeof(T)); byte += 64) __builtin_prefetch(row + byte);
    __builtin_prefetch(row + width * static_cast<int64_t>(sizeof(T)) - 1);
  };
  auto copy = [&]<int W>() {
    for (int64_t k = 0; k < kc; ++k) {
      prefetch_row(k);
      const T* row = src + k * ld_src;
      for (int64_t q = 0; q < full; ++q) CopyWidened<D>(dst + q * W * kc + k * W, row + q * W, W);
      if (tail) CopyWidened<D>(tail_dst + k * tail, row + full * W, static_cast<size_t>(tail));
    }
  };
  switch (panel) {
    case 32: copy.template operator()<32>(); return;
    case 16: copy.template operator()<16>(); return;
    case 12: copy.template operator()<12>(); return;
    case 8: copy.template operator()<8>(); return;
    case 6: copy.template operator()<6>(); return;
    case 4: copy.template operator()<4>(); return;
    default:
      for (int64_t k = 0; k < kc; ++k) {
        prefetch_row(k);
        const T* row = src + k * ld_src;
        for (int64_t q = 0; q < full; ++q)
          CopyWidened<D>(dst + q * panel * kc + k * panel, row + q * panel, static_cast<size_t>(panel));
        if (tail) CopyWidened<D>(tail_dst + k * tail, row + full * panel, static_cast<size_t>(tail));
      }
  }
}

#if defined(__AVX2__) && defined(__FMA__)
// Eight elements from p, widened.
template <DType D>
inline __m256 Load8(const typename Storage<D>::T* p) {
  if constexpr (D == DType::kF32) {
    return _mm256_loadu_ps(p);
  } else if constexpr (D == DType::kBF16) {
    const __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
  } else {
    alignas(32) float v[8];
    CopyWidened<D>(v, p, 8);
    return _mm256_load_ps(v);
  }
}

// Transposes 8 rows x 8 elements: dst[i * ld_dst + r] = src[r * ld_src + i].
template <DType D>
inline void Transpose8x8(const typename Storage<D>::T* src, int64_t ld_src, float* dst, int64_t ld_dst) {
  Ymm::F r[8];
  for (int i = 0; i < 8; ++i) r[i] = Load8<D>(src + i * ld_src);
  Ymm::Transpose(r);
  for (int i = 0; i < 8; ++i) _mm256_storeu_ps(dst + i * ld_dst, r[i]);
}

#if defined(__AVX512F__)
// Transposes 16 rows x one 64-byte line each (16 floats, or 32 bf16 widened),
// dst[i * ld_dst + r] = Widen(src[r * ld_src + i]), in zmm registers. bf16 rows
// are transposed as 16 dwords of element pairs: twice the elements per shuffle.
template <DType D>
constexpr int64_t kLineElements = D == DType::kBF16 ? 32 : 16;
template <DType D>
inline void TransposeLines16(const typename Storage<D>::T* src, int64_t ld_src, float* dst, int64_t ld_dst) {
  Zmm::F r[16];
  for (int i = 0; i < 16; ++i) r[i] = Zmm::Load(src + i * ld_src);
  Zmm::Transpose(r);
  for (int q = 0; q < 16; ++q) {
    if constexpr (D == DType::kBF16) {
      _mm512_storeu_ps(dst + 2 * q * ld_dst, Zmm::PairLow(r[q]));
      _mm512_storeu_ps(dst + (2 * q + 1) * ld_dst, Zmm::PairHigh(r[q]));
    } else {
      _mm512_storeu_ps(dst + q * ld_dst, r[q]);
    }
  }
}
#endif

// Transposes 4 rows x 8 elements: dst[i * ld_dst + r] = src[r * ld_src + i].
template <DType D>
inline void Transpose4x8(const typename Storage<D>::T* src, int64_t ld_src, float* dst, int64_t ld_dst) {
  __m256 r0 = Load8<D>(src + 0 * ld_src), r1 = Load8<D>(src + 1 * ld_src);
  __m256 r2 = Load8<D>(src + 2 * ld_src), r3 = Load8<D>(src + 3 * ld_src);
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

// dst[k * ld_dst + r] = Widen(src[r * ld_src + k]) for r < rows, k < kc.
template <DType D = DType::kF32>
inline void PackTransposed(const typename Storage<D>::T* src, int64_t ld_src, int rows, int64_t kc, float* dst,
                           int64_t ld_dst) {
  int r = 0;
  int64_t k_vec = 0;
#if defined(__AVX2__) && defined(__FMA__)
  k_vec = kc / 8 * 8;
#if defined(__AVX512F__)
  if constexpr (D != DType::kF16) {
    constexpr int64_t line = kLineElements<D>;
    const int64_t k_lines = kc / line * line;
    for (; r + 16 <= rows; r += 16) {
      for (int64_t k = 0; k < k_lines; k += line)
        TransposeLines16<D>(src + r * ld_src + k, ld_src, dst + k * ld_dst + r, ld_dst);
      for (int64_t k = k_lines; k < k_vec; k += 8) {
        Transpose8x8<D>(src + r * ld_src + k, ld_src, dst + k * ld_dst + r, ld_dst);
        Transpose8x8<D>(src + (r + 8) * ld_src + k, ld_src, dst + k * ld_dst + r + 8, ld_dst);
      }
    }
  }
#endif
  // 16 rows together fill whole 64-byte lines of dst at each k (more rows at
  // once measured slower: rows a power-of-two apart share L1 sets).
  for (; r + 16 <= rows; r += 16)
    for (int64_t k = 0; k < k_vec; k += 8) {
      Transpose8x8<D>(src + r * ld_src + k, ld_src, dst + k * ld_dst + r, ld_dst);
      Transpose8x8<D>(src + (r + 8) * ld_src + k, ld_src, dst + k * ld_dst + r + 8, ld_dst);
    }
  for (; r + 8 <= rows; r += 8)
    for (int64_t k = 0; k < k_vec; k += 8)
      Transpose8x8<D>(src + r * ld_src + k, ld_src, dst + k * ld_dst + r, ld_dst);
  for (; r + 4 <= rows; r += 4)
    for (int64_t k = 0; k < k_vec; k += 8)
      Transpose4x8<D>(src + r * ld_src + k, ld_src, dst + k * ld_dst + r, ld_dst);
#endif
  // Rows the vector blocks did not cover (all k), then the k tail of those they did.
  for (int rr = r; rr < rows; ++rr)
    for (int64_t k = 0; k < kc; ++k) dst[k * ld_dst + rr] = Storage<D>::Widen(src[rr * ld_src + k]);
  for (int rr = 0; rr < r; ++rr)
    for (int64_t k = k_vec; k < kc; ++k) dst[k * ld_dst + rr] = Storage<D>::Widen(src[rr * ld_src + k]);
}

}  // namespace aftune::gemm_internal
