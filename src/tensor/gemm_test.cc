// Gemm against its definition: GemmReference bit for bit, every compiled kernel,
// every transpose, edge sizes, strides, accumulation and thread counts.
#include "tensor/gemm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "tensor/gemm_isa.h"
#include "tensor/thread_pool.h"

namespace aftune {
namespace {

struct Shape {
  Trans ta, tb;
  int64_t M, N, K;
  int64_t pad_a = 0, pad_b = 0, pad_c = 0;  // extra row stride beyond the width
  bool accumulate = false;
};

std::string Describe(const Shape& s) {
  return std::string(s.ta == Trans::kN ? "N" : "T") + (s.tb == Trans::kN ? "N" : "T") +
         " M=" + std::to_string(s.M) + " N=" + std::to_string(s.N) + " K=" + std::to_string(s.K) +
         " pads=" + std::to_string(s.pad_a) + "," + std::to_string(s.pad_b) + "," +
         std::to_string(s.pad_c) + (s.accumulate ? " acc" : "");
}

// Operands laid out as Gemm sees them, filled with values whose products and sums
// round (mixed signs and magnitudes, some exact zeros and negative zeros).
struct Operands {
  int64_t lda, ldb, ldc;
  std::vector<float> a, b, c;

  Operands(const Shape& s, uint32_t seed) {
    const int64_t a_rows = s.ta == Trans::kN ? s.M : s.K, a_cols = s.ta == Trans::kN ? s.K : s.M;
    const int64_t b_rows = s.tb == Trans::kN ? s.K : s.N, b_cols = s.tb == Trans::kN ? s.N : s.K;
    lda = a_cols + s.pad_a;
    ldb = b_cols + s.pad_b;
    ldc = s.N + s.pad_c;
    std::mt19937 rng(seed);
    a = Random(a_rows * lda, rng);
    b = Random(b_rows * ldb, rng);
    c = Random(s.M * ldc, rng);
  }

  static std::vector<float> Random(int64_t n, std::mt19937& rng) {
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    std::uniform_int_distribution<int> pick(0, 31);
    std::vector<float> v(static_cast<size_t>(std::max<int64_t>(n, 1)));
    for (float& x : v) {
      int kind = pick(rng);
      x = kind == 0 ? 0.0f : kind == 1 ? -0.0f : kind == 2 ? u(rng) * 1e4f : u(rng);
    }
    return v;
  }
};

void RunGemm(GemmIsa isa, const Shape& s, const Operands& o, std::vector<float>& c,
             ThreadPool* pool) {
  GemmWithIsa(isa, s.ta, s.tb, s.M, s.N, s.K, o.a.data(), o.lda, o.b.data(), o.ldb, c.data(),
              o.ldc, s.accumulate, pool);
}

std::vector<GemmIsa> CompiledIsas() {
  std::vector<GemmIsa> isas;
  for (GemmIsa isa : {GemmIsa::kPortable, GemmIsa::kAvx2, GemmIsa::kAvx512})
    if (GemmIsaCompiled(isa)) isas.push_back(isa);
  return isas;
}

// Checks every compiled kernel at every pool size against GemmReference, bitwise,
// including the padding between rows of C (which must stay untouched).
void ExpectMatchesReference(const Shape& s, const std::vector<ThreadPool*>& pools, uint32_t seed) {
  Operands o(s, seed);
  std::vector<float> want = o.c;
  GemmReference(s.ta, s.tb, s.M, s.N, s.K, o.a.data(), o.lda, o.b.data(), o.ldb, want.data(),
                o.ldc, s.accumulate);
  for (GemmIsa isa : CompiledIsas()) {
    for (ThreadPool* pool : pools) {
      std::vector<float> got = o.c;
      RunGemm(isa, s, o, got, pool);
      ASSERT_EQ(0, std::memcmp(want.data(), got.data(), want.size() * sizeof(float)))
          << Describe(s) << " isa=" << GemmIsaName(isa)
          << " threads=" << (pool ? pool->num_threads() : 0);
    }
  }
  // The public entry point is the default kernel.
  std::vector<float> got = o.c;
  Gemm(s.ta, s.tb, s.M, s.N, s.K, o.a.data(), o.lda, o.b.data(), o.ldb, got.data(), o.ldc,
       s.accumulate, pools.back());
  ASSERT_EQ(0, std::memcmp(want.data(), got.data(), want.size() * sizeof(float))) << Describe(s);
}

class GemmTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    for (int n : {1, 2, 3, 8}) owned_.push_back(std::make_unique<ThreadPool>(n));
  }
  static void TearDownTestSuite() { owned_.clear(); }
  std::vector<ThreadPool*> Pools() const {
    std::vector<ThreadPool*> pools{nullptr};
    for (auto& p : owned_) pools.push_back(p.get());
    return pools;
  }
  static std::vector<std::unique_ptr<ThreadPool>> owned_;
};
std::vector<std::unique_ptr<ThreadPool>> GemmTest::owned_;

constexpr Trans kTrans[] = {Trans::kN, Trans::kT};

TEST_F(GemmTest, EdgeSizesAllTransposes) {
  // Sizes around every tile edge: MR in {4, 6, 12}, NR in {8, 16, 32}.
  const int64_t sizes[] = {1, 2, 3, 5, 6, 7, 11, 12, 13, 16, 17, 31, 33};
  uint32_t seed = 1;
  for (Trans ta : kTrans)
    for (Trans tb : kTrans)
      for (int64_t m : sizes)
        for (int64_t n : sizes) {
          const int64_t k = sizes[(m + n) % 13];
          ExpectMatchesReference({ta, tb, m, n, k}, {nullptr, Pools()[2]}, seed++);
        }
}

TEST_F(GemmTest, RandomShapesStridesAccumulateThreads) {
  std::mt19937 rng(42);
  std::uniform_int_distribution<int64_t> dim(1, 150), pad(0, 9), flip(0, 1);
  for (int trial = 0; trial < 120; ++trial) {
    Shape s{kTrans[flip(rng)], kTrans[flip(rng)], dim(rng), dim(rng), dim(rng)};
    s.pad_a = pad(rng), s.pad_b = pad(rng), s.pad_c = pad(rng);
    s.accumulate = flip(rng) == 1;
    ExpectMatchesReference(s, Pools(), static_cast<uint32_t>(1000 + trial));
  }
}

TEST_F(GemmTest, KBlockingAndLargeTiles) {
  // K beyond one K block (1024; 256 for the skinny kernels), M beyond one M block
  // (96), N beyond one N block (1024), with threads.
  uint32_t seed = 7;
  for (Trans ta : kTrans)
    for (Trans tb : kTrans) {
      ExpectMatchesReference({ta, tb, 110, 70, 1100, 3, 1, 2, true}, Pools(), seed++);
      ExpectMatchesReference({ta, tb, 37, 290, 513}, Pools(), seed++);
      ExpectMatchesReference({ta, tb, 30, 1100, 40, 0, 5, 1}, Pools(), seed++);
    }
  ExpectMatchesReference({Trans::kN, Trans::kT, 400, 260, 257}, Pools(), seed++);
}

// Few rows of C (decode-like): the streaming path (op(B) = B) and the skinny
// kernels (op(B) = B^T), across their column widths and K blocks.
TEST_F(GemmTest, FewRows) {
  uint32_t seed = 300;
  for (Trans ta : kTrans)
    for (Trans tb : kTrans)
      for (int64_t m : {1, 2, 3, 4, 5})
        for (int64_t n : {1, 63, 64, 65, 127, 128, 129, 300, 2100})
          for (int64_t k : {1, 7, 300}) {
            const bool acc = (m + n + k) % 2 == 1;
            ExpectMatchesReference({ta, tb, m, n, k, 1, 2, 3, acc}, {nullptr, Pools()[2]}, seed++);
          }
}

// The decode tiles (op(B) = B^T, M <= 32 in groups of up to 8 rows): every
// row count of one tile and of a last group, column counts around their widths
// (8, 16, 32 lanes), K around their blocks (8 / 16 floats a row line, with a
// partial last block), op(A) either way, row strides, accumulation, threads;
// and M = 33, the first shape past them.
TEST_F(GemmTest, DecodeTiles) {
  uint32_t seed = 500;
  for (Trans ta : kTrans)
    for (int64_t m : {1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 17, 32, 33})
      for (int64_t n : {1, 7, 8, 15, 16, 17, 31, 32, 33, 100})
        for (int64_t k : {1, 5, 8, 15, 16, 17, 33, 64, 200}) {
          const bool acc = (m + n + k) % 3 == 0;
          const int64_t pad = (m + k) % 4;
          ExpectMatchesReference({ta, Trans::kT, m, n, k, pad, pad + 1, pad, acc}, {nullptr, Pools()[1]}, seed++);
        }
}

TEST_F(GemmTest, DegenerateShapes) {
  uint32_t seed = 99;
  for (Trans ta : kTrans)
    for (Trans tb : kTrans)
      for (bool acc : {false, true}) {
        ExpectMatchesReference({ta, tb, 0, 5, 3, 0, 0, 0, acc}, Pools(), seed++);
        ExpectMatchesReference({ta, tb, 5, 0, 3, 0, 0, 0, acc}, Pools(), seed++);
        ExpectMatchesReference({ta, tb, 5, 7, 0, 0, 0, 2, acc}, Pools(), seed++);  // C = 0 or C
        ExpectMatchesReference({ta, tb, 1, 1, 1, 0, 0, 0, acc}, Pools(), seed++);
        ExpectMatchesReference({ta, tb, 1, 300, 70, 0, 0, 0, acc}, Pools(), seed++);  // decode
        ExpectMatchesReference({ta, tb, 300, 1, 70, 0, 0, 0, acc}, Pools(), seed++);
      }
}

// The definition written independently of GemmReference: row-major loops with
// std::fma, no transposes (operands transposed by hand first).
TEST_F(GemmTest, EqualsNaiveFmaLoop) {
  const int64_t M = 45, N = 70, K = 333;
  Operands o({Trans::kT, Trans::kT, M, N, K}, 5);  // A stored [K,M], B stored [N,K]
  std::vector<float> want(static_cast<size_t>(M * N));
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      float c = 0.0f;
      for (int64_t k = 0; k < K; ++k) c = std::fma(o.a[k * M + i], o.b[j * K + k], c);
      want[i * N + j] = c;
    }
  std::vector<float> got(want.size(), 123.0f);
  Gemm(Trans::kT, Trans::kT, M, N, K, o.a.data(), M, o.b.data(), K, got.data(), N, false,
       Pools()[2]);
  EXPECT_EQ(0, std::memcmp(want.data(), got.data(), want.size() * sizeof(float)));
}

// Sanity of the arithmetic itself: close to a double-precision product.
TEST_F(GemmTest, CloseToDoublePrecision) {
  const int64_t M = 31, N = 29, K = 500;
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> a(M * K), b(K * N), c(M * N);
  for (float& x : a) x = u(rng);
  for (float& x : b) x = u(rng);
  Gemm(Trans::kN, Trans::kN, M, N, K, a.data(), K, b.data(), N, c.data(), N, false, Pools()[1]);
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      double want = 0, mag = 0;
      for (int64_t k = 0; k < K; ++k) {
        want += static_cast<double>(a[i * K + k]) * b[k * N + j];
        mag += std::fabs(static_cast<double>(a[i * K + k]) * b[k * N + j]);
      }
      EXPECT_NEAR(want, c[i * N + j], 1e-6 * mag + 1e-6) << i << "," << j;
    }
  // A hand-checked case: [1 2; 3 4] * [5 6; 7 8] = [19 22; 43 50].
  const float a2[] = {1, 2, 3, 4}, b2[] = {5, 6, 7, 8};
  float c2[4];
  Gemm(Trans::kN, Trans::kN, 2, 2, 2, a2, 2, b2, 2, c2, 2, false, nullptr);
  EXPECT_EQ(c2[0], 19.0f);
  EXPECT_EQ(c2[1], 22.0f);
  EXPECT_EQ(c2[2], 43.0f);
  EXPECT_EQ(c2[3], 50.0f);
}

// Batch invariance: row i of C depends only on row i of op(A), so computing rows
// alone, in small groups, or inside a large M gives the same bits.
TEST_F(GemmTest, RowDependsOnlyOnItsRow) {
  const int64_t M = 157, N = 300, K = 384;
  for (Trans ta : kTrans)
    for (Trans tb : kTrans) {
      Operands o({ta, tb, M, N, K}, 11);
      std::vector<float> full(static_cast<size_t>(M * N));
      Gemm(ta, tb, M, N, K, o.a.data(), o.lda, o.b.data(), o.ldb, full.data(), N, false,
           Pools()[4]);
      for (int64_t group : {1, 5, 8, 13}) {
        for (int64_t i0 = 0; i0 < M; i0 += group) {
          const int64_t rows = std::min(group, M - i0);
          const float* a = ta == Trans::kN ? o.a.data() + i0 * o.lda : o.a.data() + i0;
          std::vector<float> part(static_cast<size_t>(rows * N));
          Gemm(ta, tb, rows, N, K, a, o.lda, o.b.data(), o.ldb, part.data(), N, false,
               Pools()[2]);
          ASSERT_EQ(0, std::memcmp(full.data() + i0 * N, part.data(), part.size() * sizeof(float)))
              << "rows " << i0 << "+" << rows;
        }
      }
    }
}

// A reduction over K can be split and continued with accumulate = true.
TEST_F(GemmTest, ContinuesAcrossKSplits) {
  const int64_t M = 50, N = 40, K = 300, K1 = 123;
  Operands o({Trans::kN, Trans::kN, M, N, K}, 21);
  std::vector<float> whole(static_cast<size_t>(M * N)), split(whole.size());
  Gemm(Trans::kN, Trans::kN, M, N, K, o.a.data(), K, o.b.data(), N, whole.data(), N, false,
       nullptr);
  Gemm(Trans::kN, Trans::kN, M, N, K1, o.a.data(), K, o.b.data(), N, split.data(), N, false,
       Pools()[1]);
  Gemm(Trans::kN, Trans::kN, M, N, K - K1, o.a.data() + K1, K, o.b.data() + K1 * N, N,
       split.data(), N, true, Pools()[3]);
  EXPECT_EQ(0, std::memcmp(whole.data(), split.data(), whole.size() * sizeof(float)));
}

// Infinities and sign of zero follow the chain exactly too.
TEST_F(GemmTest, SpecialValues) {
  const float inf = INFINITY;
  // Row 0: -0 products summed from +0 give +0; row 1: inf; row 2: inf - inf = NaN.
  const float a[] = {-0.0f, 1.0f, 1.0f, inf, 1.0f, -1.0f};  // [3,2]
  const float b[] = {1.0f, 0.0f};                           // [2,1]
  const float b_inf[] = {inf, inf};
  float c[3], ref[3];
  Gemm(Trans::kN, Trans::kN, 3, 1, 2, a, 2, b, 1, c, 1, false, nullptr);
  GemmReference(Trans::kN, Trans::kN, 3, 1, 2, a, 2, b, 1, ref, 1, false);
  EXPECT_EQ(0, std::memcmp(c, ref, sizeof(c)));
  EXPECT_FALSE(std::signbit(c[0]));
  Gemm(Trans::kN, Trans::kN, 3, 1, 2, a, 2, b_inf, 1, c, 1, false, nullptr);
  EXPECT_TRUE(std::isnan(c[2]));
  EXPECT_TRUE(std::isinf(c[1]));
}

}  // namespace
}  // namespace aftune
