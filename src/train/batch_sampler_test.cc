#include "train/batch_sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <numeric>
#include <vector>

namespace aftune {
namespace {

bool IsPermutation(std::vector<int64_t> p, int64_t n) {
  if (static_cast<int64_t>(p.size()) != n) return false;
  std::sort(p.begin(), p.end());
  for (int64_t i = 0; i < n; ++i)
    if (p[i] != i) return false;
  return true;
}

TEST(BatchSampler, StepsPerEpochAndEpochOfStep) {
  EXPECT_EQ(StepsPerEpoch(10, 3), 4);
  EXPECT_EQ(StepsPerEpoch(9, 3), 3);
  EXPECT_EQ(StepsPerEpoch(1, 1), 1);
  EXPECT_EQ(StepsPerEpoch(5, 100), 1);
  EXPECT_EQ(StepsPerEpoch(7, 1), 7);
  EXPECT_EQ(EpochOfStep(10, 3, 0), 0);
  EXPECT_EQ(EpochOfStep(10, 3, 3), 0);
  EXPECT_EQ(EpochOfStep(10, 3, 4), 1);
  EXPECT_EQ(EpochOfStep(10, 3, 11), 2);
}

TEST(BatchSampler, CheckSamplerArgs) {
  EXPECT_TRUE(CheckSamplerArgs(1, 1).ok());
  EXPECT_TRUE(CheckSamplerArgs((int64_t{1} << 32) - 1, 1 << 20).ok());
  EXPECT_FALSE(CheckSamplerArgs(0, 1).ok());
  EXPECT_FALSE(CheckSamplerArgs(-5, 1).ok());
  EXPECT_FALSE(CheckSamplerArgs(int64_t{1} << 32, 1).ok());
  EXPECT_FALSE(CheckSamplerArgs(10, 0).ok());
  EXPECT_NE(CheckSamplerArgs(10, 0).message().find("examples per step"), std::string::npos);
  EXPECT_NE(CheckSamplerArgs(0, 1).message().find("number of examples"), std::string::npos);
}

// Pinned against an independent Python implementation of Philox-4x32-10,
// the bounded draw and the shuffle exactly as batch_sampler.h states them
// (its Philox matches the Random123 known-answer vector for zero key and
// counter: 6627e8d5 e169c58d bc57ac4c 9b00dbd8).
TEST(BatchSampler, PinnedPermutations) {
  EXPECT_EQ(EpochPermutation(1, 10, 0), (std::vector<int64_t>{6, 9, 4, 1, 3, 2, 0, 8, 7, 5}));
  EXPECT_EQ(EpochPermutation(0x0123456789ABCDEFull, 17, 3),
            (std::vector<int64_t>{14, 2, 10, 15, 9, 8, 16, 3, 7, 13, 6, 1, 4, 0, 5, 11, 12}));
  EXPECT_EQ(EpochPermutation(42, 5, 0), (std::vector<int64_t>{4, 3, 2, 1, 0}));
  EXPECT_EQ(EpochPermutation(42, 5, 1), (std::vector<int64_t>{1, 0, 4, 3, 2}));
  EXPECT_EQ(EpochPermutation(42, 1, 0), (std::vector<int64_t>{0}));
}

TEST(BatchSampler, PinnedBoundedDrawsWithRejections) {
  // The same Python reference: 8 draws in [0, 2^31 + 1) from
  // Philox(7, kShuffle, 0) consume 20 words (about half are rejected).
  const Philox p(7, RandomPurpose::kShuffle, 0);
  PhiloxWords w(p);
  std::vector<uint32_t> got;
  for (int i = 0; i < 8; ++i)
    got.push_back(BoundedDraw<uint32_t, uint64_t>((1u << 31) + 1, [&w] { return w.Next(); }));
  EXPECT_EQ(got, (std::vector<uint32_t>{1288020744, 1261420391, 1121408498, 1971292472, 738225530, 1158860263,
                                        1542817835, 1323131015}));
  EXPECT_EQ(w.consumed(), 20u);
}

TEST(BatchSampler, PhiloxWordsAreTheStreamsWordsInOrder) {
  const Philox p(99, RandomPurpose::kShuffle, 5);
  PhiloxWords w(p);
  for (uint64_t i = 0; i < 37; ++i) EXPECT_EQ(w.Next(), p.Word(i));
  EXPECT_EQ(w.consumed(), 37u);
}

TEST(BatchSampler, EveryEpochIsAPermutation) {
  for (int64_t n : std::vector<int64_t>{1, 2, 3, 7, 64, 100, 1000, 4097}) {
    for (uint64_t seed : {0ull, 1ull, 0xFFFFFFFFFFFFFFFFull}) {
      for (int64_t epoch : std::vector<int64_t>{0, 1, 2, 1000, 4294967295}) {
        EXPECT_TRUE(IsPermutation(EpochPermutation(seed, n, epoch), n)) << n << " " << seed << " " << epoch;
      }
    }
  }
}

TEST(BatchSampler, Deterministic) {
  for (int rep = 0; rep < 3; ++rep) {
    EXPECT_EQ(EpochPermutation(123, 500, 4), EpochPermutation(123, 500, 4));
    EXPECT_EQ(StepIndices(123, 500, 32, 77), StepIndices(123, 500, 32, 77));
  }
}

TEST(BatchSampler, SeedsAndEpochsGiveDifferentOrders) {
  const std::vector<int64_t> base = EpochPermutation(1, 100, 0);
  EXPECT_NE(EpochPermutation(2, 100, 0), base);
  EXPECT_NE(EpochPermutation(1, 100, 1), base);
  EXPECT_NE(EpochPermutation(1ull << 32, 100, 0), base);  // the seed's high word counts
  std::vector<std::vector<int64_t>> seen;
  for (int64_t e = 0; e < 20; ++e) seen.push_back(EpochPermutation(1, 100, e));
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(std::unique(seen.begin(), seen.end()), seen.end());
}

TEST(BatchSampler, StepsCutEachEpochWithAShortLastStep) {
  const uint64_t seed = 31;
  const int64_t n = 10, b = 3;
  for (int64_t epoch = 0; epoch < 3; ++epoch) {
    std::vector<int64_t> joined;
    for (int64_t k = 0; k < 4; ++k) {
      std::vector<int64_t> idx = StepIndices(seed, n, b, epoch * 4 + k);
      EXPECT_EQ(idx.size(), k < 3 ? 3u : 1u);  // 3 + 3 + 3 + 1
      joined.insert(joined.end(), idx.begin(), idx.end());
    }
    // The steps of an epoch are its permutation, in order: every example once.
    EXPECT_EQ(joined, EpochPermutation(seed, n, epoch));
  }
}

TEST(BatchSampler, BatchLargerThanTheDataset) {
  EXPECT_EQ(StepIndices(5, 4, 10, 0), EpochPermutation(5, 4, 0));
  EXPECT_EQ(StepIndices(5, 4, 10, 1), EpochPermutation(5, 4, 1));
}

TEST(BatchSampler, FirstPositionIsUniformOverSeeds) {
  // Chi-square over 20000 seeds, n = 10 (9 degrees of freedom). The seeds are
  // fixed, so the statistic is too; 27.9 is the p = 0.001 critical value.
  const int64_t n = 10, trials = 20000;
  std::vector<int64_t> first(n, 0), last(n, 0);
  for (int64_t s = 0; s < trials; ++s) {
    std::vector<int64_t> p = EpochPermutation(static_cast<uint64_t>(s), n, 0);
    ++first[p[0]];
    ++last[p[n - 1]];
  }
  auto chi2 = [&](const std::vector<int64_t>& c) {
    double e = static_cast<double>(trials) / n, x = 0;
    for (int64_t v : c) x += (v - e) * (v - e) / e;
    return x;
  };
  EXPECT_LT(chi2(first), 27.9);
  EXPECT_LT(chi2(last), 27.9);
}

TEST(BatchSampler, AllPermutationsOfThreeAreEquallyLikely) {
  // 6 outcomes, 5 degrees of freedom; 20.5 is the p = 0.001 critical value.
  std::map<std::vector<int64_t>, int64_t> count;
  const int64_t trials = 12000;
  for (int64_t e = 0; e < trials; ++e) ++count[EpochPermutation(2024, 3, e)];
  ASSERT_EQ(count.size(), 6u);
  double x = 0, expect = trials / 6.0;
  for (const auto& [perm, c] : count) x += (c - expect) * (c - expect) / expect;
  EXPECT_LT(x, 20.5);
}

// ---- the bounded draw ----

// Checks BoundedDraw<U, W> exactly for one range over every possible first
// word: the accepted first words must map onto each value of [0, range) the
// same number of times, floor(2^bits / range), and exactly 2^bits mod range
// first words must be rejected (after which the draw starts afresh, so the
// result is exactly uniform).
template <typename U, typename W>
void CheckExactlyUniform(uint64_t range) {
  constexpr uint64_t kWords = uint64_t{1} << (8 * sizeof(U));
  std::vector<uint64_t> hits(range, 0);
  uint64_t rejected = 0;
  for (uint64_t first = 0; first < kWords; ++first) {
    int calls = 0;
    uint64_t retry = 0;
    U v = BoundedDraw<U, W>(static_cast<U>(range), [&]() -> U {
      ++calls;
      return static_cast<U>(calls == 1 ? first : retry++);
    });
    ASSERT_LT(v, range);
    if (calls == 1) {
      ++hits[v];
    } else {
      ++rejected;
    }
  }
  for (uint64_t j = 0; j < range; ++j) ASSERT_EQ(hits[j], kWords / range) << "range " << range << " value " << j;
  EXPECT_EQ(rejected, kWords % range) << "range " << range;
}

TEST(BoundedDraw, ExactlyUniformForEveryEightBitRange) {
  for (uint64_t r = 1; r < 256; ++r) CheckExactlyUniform<uint8_t, uint16_t>(r);
}

TEST(BoundedDraw, ExactlyUniformForSixteenBitEdgeRanges) {
  for (uint64_t r : std::vector<uint64_t>{1, 2, 3, 5, 7, 255, 256, 257, 21845, 21846, 32767, 32768, 32769, 43690, 43691, 49152, 65534,
                     65535}) {
    CheckExactlyUniform<uint16_t, uint32_t>(r);
  }
}

// On 32-bit Philox words: where plain `word % range` would be badly biased,
// the draw is not.
TEST(BoundedDraw, NoModuloBiasAtThirtyTwoBitEdgeRanges) {
  const Philox p(2718, RandomPurpose::kShuffle, 0);
  const int kDraws = 200000;
  struct Case {
    uint32_t range;
    uint32_t split;        // count draws below this
    double want_fraction;  // the true probability of a draw below `split`
    double modulo_fraction;
  };
  // range 3*2^30: 2^32 mod range = 2^30, so `w % range` hits [0, 2^30)
  // twice as often as the rest (mass 1/2 instead of 1/3). range 5*2^29:
  // 2^32 mod range = 3*2^29, so `w % range` puts 3/4 of the mass below
  // 3*2^29 instead of 3/5.
  for (const Case& c : {Case{3u << 30, 1u << 30, 1.0 / 3, 0.5}, Case{5u << 29, 3u << 29, 0.6, 0.75}}) {
    PhiloxWords w(p);
    int below = 0;
    for (int i = 0; i < kDraws; ++i) {
      uint32_t v = BoundedDraw<uint32_t, uint64_t>(c.range, [&w] { return w.Next(); });
      ASSERT_LT(v, c.range);
      below += v < c.split;
    }
    const double f = static_cast<double>(below) / kDraws;
    // 5 standard deviations of a binomial fraction is below 0.0053 here.
    EXPECT_NEAR(f, c.want_fraction, 0.006) << "range " << c.range;
    EXPECT_GT(std::abs(f - c.modulo_fraction), 0.1);
    // Rejections happen (probability (2^32 mod range) / 2^32): more words than draws.
    EXPECT_GT(w.consumed(), static_cast<uint64_t>(kDraws) * 11 / 10) << "range " << c.range;
  }
}

TEST(BoundedDraw, RangeOneIsAlwaysZeroAndUsesOneWord) {
  const Philox p(1, RandomPurpose::kShuffle, 0);
  PhiloxWords w(p);
  for (int i = 0; i < 100; ++i) EXPECT_EQ((BoundedDraw<uint32_t, uint64_t>(1, [&w] { return w.Next(); })), 0u);
  EXPECT_EQ(w.consumed(), 100u);
}

}  // namespace
}  // namespace aftune
