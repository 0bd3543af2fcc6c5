// Global-norm clipping: the canonical order against a naive transcription of
// grad_clip.h, accuracy against a long-double sum, independence from the
// thread count, and clip_grad_norm_'s behaviour. (The norm against PyTorch is
// checked every step by adamw_test.cc's oracle test.)
#include "train/grad_clip.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <vector>

#include "tensor/philox.h"
#include "tensor/thread_pool.h"

namespace aftune {
namespace {

Tensor RandomTensor(int64_t n, uint32_t stream, float scale) {
  Tensor t({n});
  Philox rng(3, RandomPurpose::kWeightInit, stream);
  for (int64_t i = 0; i < n; ++i) t[i] = scale * rng.Normal(static_cast<uint64_t>(i));
  return t;
}

// grad_clip.h's definition, written out as plainly as possible.
double NaiveSumOfSquares(const Tensor& g) {
  double total = 0;
  for (int64_t b = 0; b < g.numel(); b += kSumSquaresChunk) {
    int64_t n = std::min(kSumSquaresChunk, g.numel() - b);
    double lane[8] = {};
    for (int64_t i = 0; i < n; ++i) {
      double x = g[b + i];
      lane[i % 8] = lane[i % 8] + x * x;
    }
    total = total + (((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7])));
  }
  return total;
}

float NaiveNorm(const TensorMap& grads) {
  double t = 0;
  for (const auto& [name, g] : grads) t = t + NaiveSumOfSquares(g);
  return static_cast<float>(std::sqrt(t));
}

// Sizes around the lane and chunk boundaries; scales far apart so the order matters.
TensorMap SampleGrads() {
  TensorMap g;
  const int64_t sizes[] = {0, 1, 7, 8, 9, 65535, 65536, 65537, 200001};
  uint32_t stream = 0;
  for (int64_t n : sizes) {
    float scale = (stream % 3 == 0) ? 1e-3f : (stream % 3 == 1 ? 7.0f : 0.05f);
    g.emplace("g" + std::to_string(n), RandomTensor(n, stream++, scale));
  }
  return g;
}

TEST(GradClipTest, CanonicalOrderBitExact) {
  TensorMap grads = SampleGrads();
  std::vector<double> sums;
  for (const auto& [name, g] : grads) {
    EXPECT_EQ(std::bit_cast<uint64_t>(SumOfSquares(g)), std::bit_cast<uint64_t>(NaiveSumOfSquares(g))) << name;
    sums.push_back(SumOfSquares(g));
  }
  float norm = GlobalGradNorm(grads);
  EXPECT_EQ(std::bit_cast<uint32_t>(norm), std::bit_cast<uint32_t>(NaiveNorm(grads)));
  EXPECT_EQ(std::bit_cast<uint32_t>(norm), std::bit_cast<uint32_t>(NormFromSumsOfSquares(sums)));
  EXPECT_EQ(GlobalGradNorm(TensorMap{}), 0.0f);
  EXPECT_EQ(SumOfSquares(Tensor({0})), 0.0);
}

TEST(GradClipTest, Accurate) {
  TensorMap grads = SampleGrads();
  long double exact = 0;
  for (const auto& [name, g] : grads)
    for (int64_t i = 0; i < g.numel(); ++i) exact += static_cast<long double>(g[i]) * g[i];
  float ref = static_cast<float>(std::sqrt(exact));
  float norm = GlobalGradNorm(grads);
  EXPECT_LE(std::fabs(norm - ref), 0.5f * (std::nextafter(ref, INFINITY) - ref));
  EXPECT_EQ(GlobalGradNorm({{"x", [] { Tensor t({2}); t[0] = 3; t[1] = -4; return t; }()}}), 5.0f);
}

TEST(GradClipTest, IndependentOfThreadCount) {
  TensorMap grads = SampleGrads();
  SetDefaultThreads(1);
  float norm1 = GlobalGradNorm(grads);
  TensorMap clipped1 = grads;
  ClipGradNorm(0.5, &clipped1);
  for (int threads : {2, 3, 8, 1, 2}) {
    SetDefaultThreads(threads);
    EXPECT_EQ(std::bit_cast<uint32_t>(GlobalGradNorm(grads)), std::bit_cast<uint32_t>(norm1)) << threads;
    for (const auto& [name, g] : grads)
      EXPECT_EQ(std::bit_cast<uint64_t>(SumOfSquares(g)), std::bit_cast<uint64_t>(NaiveSumOfSquares(g)));
    TensorMap clipped = grads;
    EXPECT_EQ(std::bit_cast<uint32_t>(ClipGradNorm(0.5, &clipped)), std::bit_cast<uint32_t>(norm1));
    for (const auto& [name, g] : clipped) EXPECT_TRUE(g.BitEqual(clipped1.at(name))) << name << " " << threads;
  }
  SetDefaultThreads(DefaultThreadCount());
}

TEST(GradClipTest, ClipsLikeClipGradNorm) {
  TensorMap grads = SampleGrads();
  float norm = GlobalGradNorm(grads);
  ASSERT_GT(norm, 2.0f);
  // Below the norm: every element scaled by f32(max / (norm + 1e-6)).
  TensorMap clipped = grads;
  EXPECT_EQ(ClipGradNorm(1.0, &clipped), norm);
  float coef = static_cast<float>(1.0 / (static_cast<double>(norm) + 1e-6));
  EXPECT_EQ(ClipCoefficient(norm, 1.0), coef);
  for (const auto& [name, g] : clipped)
    for (int64_t i = 0; i < g.numel(); ++i) ASSERT_EQ(g[i], grads.at(name)[i] * coef) << name << i;
  EXPECT_NEAR(GlobalGradNorm(clipped), 1.0f, 1e-6);
  // Above the norm: untouched, bit for bit.
  TensorMap same = grads;
  EXPECT_EQ(ClipGradNorm(2.0 * norm, &same), norm);
  for (const auto& [name, g] : same) EXPECT_TRUE(g.BitEqual(grads.at(name)));
  // Just at the norm: the 1e-6 makes the coefficient < 1, as in PyTorch.
  EXPECT_LT(ClipCoefficient(1.0f, 1.0), 1.0f);
}

TEST(GradClipTest, NonFinite) {
  Tensor t({3});
  t[0] = 1;
  t[1] = NAN;
  t[2] = 2;
  TensorMap nan{{"a", t}};
  EXPECT_TRUE(std::isnan(ClipGradNorm(1.0, &nan)));
  EXPECT_TRUE(nan.at("a").BitEqual(t));  // a NaN coefficient is never applied
  t[1] = INFINITY;
  TensorMap inf{{"a", t}};
  EXPECT_EQ(ClipGradNorm(1.0, &inf), INFINITY);
  EXPECT_EQ(inf.at("a")[0], 0.0f);  // scaled by 0, as PyTorch does
  EXPECT_TRUE(std::isnan(inf.at("a")[1]));
  // Overflow of f32 squares is no overflow in f64.
  Tensor big({2});
  big[0] = 3e38f;
  big[1] = 3e38f;
  EXPECT_EQ(GlobalGradNorm({{"b", big}}), static_cast<float>(std::sqrt(2.0) * 3e38));
}

TEST(GradClipTest, ScaleGrads) {
  TensorMap grads = SampleGrads();
  TensorMap scaled = grads;
  ScaleGrads(0.25f, &scaled);
  for (const auto& [name, g] : scaled)
    for (int64_t i = 0; i < g.numel(); ++i) ASSERT_EQ(g[i], grads.at(name)[i] * 0.25f);
}

}  // namespace
}  // namespace aftune
