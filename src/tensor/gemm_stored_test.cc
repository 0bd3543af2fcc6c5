// Gemm with a bf16 / f16 B operand: bit for bit the f32 Gemm on the widened
// matrix (widened independently, by dtype.h's conversions), for every compiled
// kernel, transpose, route (packed, skinny, streaming, decode), K block and
// thread count; and its naive reference agrees with the f32 reference.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "tensor/dtype.h"
#include "tensor/gemm.h"
#include "tensor/gemm_isa.h"
#include "tensor/thread_pool.h"

namespace aftune {
namespace {

// Random finite 16-bit patterns of `dtype`: both signs, zeros, subnormals,
// normals of every exponent (no inf or NaN: inf * 0 would make NaNs whose
// payload the test could not pin).
std::vector<uint16_t> RandomBits(DType dtype, size_t n, std::mt19937& rng) {
  std::uniform_int_distribution<uint32_t> bits(0, 0xffff);
  std::vector<uint16_t> v(n);
  const uint16_t exp_mask = dtype == DType::kBF16 ? 0x7f80 : 0x7c00;
  for (uint16_t& h : v) {
    do h = static_cast<uint16_t>(bits(rng));
    while ((h & exp_mask) == exp_mask);
    // Keep products in range for bf16 (its exponent spans f32's): narrow the
    // exponent to about [2^-20, 2^20] most of the time, leave some extremes.
    if (dtype == DType::kBF16 && bits(rng) % 8 != 0) h = static_cast<uint16_t>((h & 0x807f) | ((108 + bits(rng) % 40) << 7));
  }
  return v;
}

std::vector<float> Widened(DType dtype, const std::vector<uint16_t>& bits) {
  std::vector<float> out;
  for (uint16_t h : bits) out.push_back(dtype == DType::kBF16 ? BF16ToF32(h) : F16ToF32(h));
  return out;
}

struct Case {
  Trans ta, tb;
  int64_t M, N, K;
  bool accumulate;
};

class GemmStoredTest : public ::testing::TestWithParam<DType> {
 protected:
  static void SetUpTestSuite() {
    for (int n : {1, 2, 3, 8}) pools_.push_back(std::make_unique<ThreadPool>(n));
  }
  static void TearDownTestSuite() { pools_.clear(); }

  void Check(const Case& s, uint32_t seed) {
    const DType dtype = GetParam();
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    const int64_t lda = (s.ta == Trans::kN ? s.K : s.M) + 1, ldb = (s.tb == Trans::kN ? s.N : s.K) + 2;
    const int64_t ldc = s.N + 3;
    std::vector<float> a(static_cast<size_t>((s.ta == Trans::kN ? s.M : s.K) * lda));
    for (float& x : a) x = u(rng);
    const std::vector<uint16_t> b = RandomBits(dtype, static_cast<size_t>((s.tb == Trans::kN ? s.K : s.N) * ldb), rng);
    const std::vector<float> b32 = Widened(dtype, b);
    std::vector<float> c0(static_cast<size_t>(s.M * ldc));
    for (float& x : c0) x = u(rng);
    const StoredMatrix stored{dtype, b.data(), ldb};
    const std::string what = std::string(DTypeName(dtype)) + (s.ta == Trans::kN ? " N" : " T") +
                             (s.tb == Trans::kN ? "N" : "T") + " M=" + std::to_string(s.M) +
                             " N=" + std::to_string(s.N) + " K=" + std::to_string(s.K) +
                             (s.accumulate ? " acc" : "");

    std::vector<float> want = c0;
    GemmReference(s.ta, s.tb, s.M, s.N, s.K, a.data(), lda, b32.data(), ldb, want.data(), ldc, s.accumulate);
    std::vector<float> ref = c0;
    GemmReference(s.ta, s.tb, s.M, s.N, s.K, a.data(), lda, stored, ref.data(), ldc, s.accumulate);
    ASSERT_EQ(0, std::memcmp(want.data(), ref.data(), want.size() * sizeof(float))) << what << " reference";

    std::vector<ThreadPool*> pools{nullptr};
    for (auto& p : pools_) pools.push_back(p.get());
    for (GemmIsa isa : {GemmIsa::kPortable, GemmIsa::kAvx2, GemmIsa::kAvx512}) {
      if (!GemmIsaCompiled(isa)) continue;
      for (ThreadPool* pool : pools) {
        std::vector<float> got = c0;
        GemmWithIsa(isa, s.ta, s.tb, s.M, s.N, s.K, a.data(), lda, stored, got.data(), ldc, s.accumulate, pool);
        ASSERT_EQ(0, std::memcmp(want.data(), got.data(), want.size() * sizeof(float)))
            << what << " isa=" << GemmIsaName(isa) << " threads=" << (pool ? pool->num_threads() : 0);
      }
    }
    std::vector<float> got = c0;
    Gemm(s.ta, s.tb, s.M, s.N, s.K, a.data(), lda, stored, got.data(), ldc, s.accumulate, pools.back());
    ASSERT_EQ(0, std::memcmp(want.data(), got.data(), want.size() * sizeof(float))) << what;
  }

  static std::vector<std::unique_ptr<ThreadPool>> pools_;
};
std::vector<std::unique_ptr<ThreadPool>> GemmStoredTest::pools_;

constexpr Trans kTrans[] = {Trans::kN, Trans::kT};

TEST_P(GemmStoredTest, EdgeSizes) {
  const int64_t sizes[] = {1, 3, 6, 7, 8, 13, 16, 17, 33};
  uint32_t seed = 1;
  for (Trans ta : kTrans)
    for (Trans tb : kTrans)
      for (int64_t m : sizes)
        for (int64_t n : sizes) Check({ta, tb, m, n, sizes[(m + n) % 9], (m + n) % 2 == 0}, seed++);
}

// Decode-like shapes: the streaming route (op(B) = B) and the skinny kernels
// (op(B) = B^T, the layout of a projection's weight).
TEST_P(GemmStoredTest, FewRows) {
  uint32_t seed = 100;
  for (Trans tb : kTrans)
    for (int64_t m : {1, 2, 4, 5})
      for (int64_t n : {1, 64, 129, 1100})
        for (int64_t k : {7, 300}) Check({Trans::kN, tb, m, n, k, k == 7}, seed++);
}

// The decode tiles (op(B) = B^T, M <= 32; bf16 rows are read a line of 32
// elements at a time, as 16 pairs): K around that line, with odd tails.
TEST_P(GemmStoredTest, DecodeTiles) {
  uint32_t seed = 300;
  for (Trans ta : kTrans)
    for (int64_t m : {1, 2, 3, 5, 8, 9, 20, 33})
      for (int64_t n : {1, 16, 17, 33, 100})
        for (int64_t k : {1, 2, 15, 31, 32, 33, 63, 64, 65, 250}) Check({ta, Trans::kT, m, n, k, (m + k) % 2 == 0}, seed++);
}

TEST_P(GemmStoredTest, KBlocksAndLargeTiles) {
  uint32_t seed = 200;
  for (Trans ta : kTrans)
    for (Trans tb : kTrans) {
      Check({ta, tb, 110, 70, 1100, true}, seed++);
      Check({ta, tb, 37, 290, 513, false}, seed++);
    }
}

INSTANTIATE_TEST_SUITE_P(Dtypes, GemmStoredTest, ::testing::Values(DType::kBF16, DType::kF16),
                         [](const ::testing::TestParamInfo<DType>& param) {
                           return std::string(DTypeName(param.param));
                         });

}  // namespace
}  // namespace aftune
