// Gemm with a chosen micro-kernel, for tests and benchmarks.
//
// Gemm (gemm.h) always uses the widest kernel the build targets. These entry points
// let a test check that every compiled kernel gives the same bits, and let a
// benchmark compare them on one machine. Production code calls Gemm.
#pragma once

#include <cstdint>

#include "tensor/gemm.h"

namespace aftune {

// Each also has a "skinny" tile for one or two rows of C against a transposed B.
enum class GemmIsa {
  kPortable,  // std::fma, 4x8 scalar tile; every build has it
  kAvx2,      // 6x16 tile, 12 ymm accumulators (skinny 1x64); __AVX2__ and __FMA__
  kAvx512,    // 12x32 tile, 24 zmm accumulators (skinny 2x128); __AVX512F__
};

// "portable", "avx2", "avx512".
const char* GemmIsaName(GemmIsa isa);
// Whether this build compiled the kernel (the build's -march decides; a binary
// built for a CPU runs only on such CPUs).
bool GemmIsaCompiled(GemmIsa isa);
// The kernel Gemm uses.
GemmIsa GemmDefaultIsa();

// Gemm with the given kernel. REQUIRES: GemmIsaCompiled(isa); Gemm's contract.
void GemmWithIsa(GemmIsa isa, Trans ta, Trans tb, int64_t M, int64_t N, int64_t K,
                 const float* A, int64_t lda, const float* B, int64_t ldb, float* C,
                 int64_t ldc, bool accumulate, ThreadPool* pool);
void GemmWithIsa(GemmIsa isa, Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda,
                 StoredMatrix B, float* C, int64_t ldc, bool accumulate, ThreadPool* pool);

}  // namespace aftune
