// Philox-4x32-10 against the Random123 known-answer vectors, and the
// distributions built on it.
#include "tensor/philox.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <set>

namespace aftune {
namespace {

// Random123 1.14, tests/kat_vectors, the three "philox4x32 10" lines
// (counter[4], key[2] -> output[4]). Also reproduced by an independent
// Python implementation of the round function (Salmon et al., SC'11).
struct Kat {
  PhiloxBlock counter;
  std::array<uint32_t, 2> key;
  PhiloxBlock want;
};
const Kat kKats[] = {
    {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
    {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
     {0xffffffff, 0xffffffff},
     {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
    {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
     {0xa4093822, 0x299f31d0},
     {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
};

TEST(Philox, KnownAnswerVectors) {
  for (const Kat& k : kKats) EXPECT_EQ(Philox4x32(k.counter, k.key), k.want);
}

// The class maps (seed, purpose, stream, index) onto the block function as
// philox.h documents: key = seed (low word first), counter = {index low,
// index high, purpose, stream}.
TEST(Philox, CounterAndKeyLayout) {
  uint64_t seed = 0x299f31d0a4093822ull;
  Philox p(seed, RandomPurpose::kShuffle, 0x03707344u);
  uint64_t index = 0x85a308d3243f6a88ull;
  EXPECT_EQ(p.Block(index), Philox4x32({0x243f6a88, 0x85a308d3, 3, 0x03707344}, {0xa4093822, 0x299f31d0}));
  for (uint64_t i = 0; i < 12; ++i) EXPECT_EQ(p.Word(i), p.Block(i / 4)[i % 4]) << i;
  // Word indices beyond 2^32 reach block indices beyond 2^30.
  uint64_t far = (uint64_t{1} << 40) + 5;
  EXPECT_EQ(p.Word(far), p.Block(far / 4)[1]);
}

TEST(Philox, PurposesAndStreamsDiffer) {
  const uint64_t seed = 42;
  std::set<PhiloxBlock> seen;
  for (auto purpose : {RandomPurpose::kWeightInit, RandomPurpose::kLoraInit, RandomPurpose::kShuffle,
                       RandomPurpose::kSampling, RandomPurpose::kDropout, RandomPurpose::kAuditChallenge}) {
    for (uint32_t stream : {0u, 1u, 2u, 0xffffffffu}) {
      Philox p(seed, purpose, stream);
      for (uint64_t i = 0; i < 4; ++i) seen.insert(p.Block(i));
    }
  }
  for (uint64_t s : {uint64_t{43}, uint64_t{42} << 32}) {  // the seed's high word is in the key too
    Philox p(s, RandomPurpose::kWeightInit, 0);
    for (uint64_t i = 0; i < 4; ++i) seen.insert(p.Block(i));
  }
  EXPECT_EQ(seen.size(), 6u * 4u * 4u + 2u * 4u);
  // Pure: the same inputs give the same numbers.
  EXPECT_EQ(Philox(seed, RandomPurpose::kSampling, 7).Word(1000),
            Philox(seed, RandomPurpose::kSampling, 7).Word(1000));
}

TEST(Philox, UniformInUnitInterval) {
  Philox p(0x1234, RandomPurpose::kDropout, 0);
  const int n = 100000;
  double sum = 0, sum2 = 0;
  float lo = 1, hi = 0;
  for (int i = 0; i < n; ++i) {
    float u = p.Uniform(i);
    ASSERT_GE(u, 0.0f);
    ASSERT_LT(u, 1.0f);
    // 24 random bits: an exact multiple of 2^-24.
    ASSERT_EQ(std::ldexp(static_cast<double>(u), 24), std::floor(std::ldexp(static_cast<double>(u), 24)));
    lo = std::min(lo, u);
    hi = std::max(hi, u);
    sum += u;
    sum2 += static_cast<double>(u) * u;
  }
  double mean = sum / n, var = sum2 / n - mean * mean;
  // Standard errors: 0.29 / sqrt(n) ~ 0.0009 for the mean; 6 sigma bounds.
  EXPECT_NEAR(mean, 0.5, 0.006);
  EXPECT_NEAR(var, 1.0 / 12, 0.003);
  EXPECT_LT(lo, 0.001f);
  EXPECT_GT(hi, 0.999f);
  // Extremes of the mapping: word 0 -> 0, word 0xffffffff -> 1 - 2^-24.
  EXPECT_EQ(static_cast<float>(0xffffffffu >> 8) * (1.0f / 16777216.0f), 1.0f - 0x1p-24f);
}

TEST(Philox, NormalMoments) {
  Philox p(0x5eed, RandomPurpose::kWeightInit, 3);
  const int n = 100000;
  double s1 = 0, s2 = 0, s3 = 0, s4 = 0;
  int beyond3 = 0;
  for (int i = 0; i < n; ++i) {
    double z = p.Normal(i);
    ASSERT_TRUE(std::isfinite(z)) << i;
    s1 += z;
    s2 += z * z;
    s3 += z * z * z;
    s4 += z * z * z * z;
    beyond3 += std::fabs(z) > 3;
  }
  double mean = s1 / n, var = s2 / n - mean * mean;
  // Standard errors at n = 1e5: mean 0.0032, variance 0.0045, skewness
  // 0.0077, kurtosis 0.015; bounds are ~6 sigma.
  EXPECT_NEAR(mean, 0.0, 0.02);
  EXPECT_NEAR(var, 1.0, 0.03);
  EXPECT_NEAR(s3 / n, 0.0, 0.05);
  EXPECT_NEAR(s4 / n, 3.0, 0.1);
  // P(|z| > 3) = 0.0027: 270 expected, sd ~16.
  EXPECT_NEAR(beyond3, 270, 100);
  // Normal(2j) and Normal(2j+1) come from the two word pairs of block j.
  EXPECT_NE(p.Normal(0), p.Normal(1));
}

// Normal() goes through aftune's own LogF, SqrtF and CosF, so its bits are
// the same in every build; pinned (FNV-1a over 1000 draws) so that a change
// of the transform or of the math functions is noticed.
TEST(Philox, NormalBitsPinned) {
  Philox p(20240607, RandomPurpose::kLoraInit, 11);
  uint64_t h = 0xcbf29ce484222325ull;
  for (uint64_t i = 0; i < 1000; ++i) {
    uint32_t u = std::bit_cast<uint32_t>(p.Normal(i));
    for (int b = 0; b < 4; ++b) {
      h ^= (u >> (8 * b)) & 0xffu;
      h *= 0x100000001b3ull;
    }
  }
  EXPECT_EQ(h, 0x4bfbc99b558c18c3ull) << std::hex << "0x" << h;
}

}  // namespace
}  // namespace aftune
