// The challenge draw: a pure function of SHA-256(trace root ‖ nonce), the
// grid and the strategy; distinct cells from each strategy's population; the
// miss bound equals the hypergeometric probability for uniform draws.
#include "audit/challenge.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

namespace aftune {
namespace {

Hash Root() {
  Hash h{};
  for (size_t i = 0; i < h.size(); ++i) h[i] = static_cast<uint8_t>(i * 7);
  return h;
}

TEST(ChallengeTest, SeedIsSha256OfRootAndNonce) {
  const std::vector<uint8_t> nonce = {0xde, 0xad};
  const Hash root = Root();
  std::vector<uint8_t> cat(root.begin(), root.end());
  cat.insert(cat.end(), nonce.begin(), nonce.end());
  EXPECT_EQ(ChallengeSeed(Root(), nonce), Sha256Of(cat));
}

TEST(ChallengeTest, DrawIsDeterministicAndDependsOnTheNonce) {
  const TraceLayout layout{4, 8, 200};  // 4 x 25 cells
  const std::vector<uint8_t> n1 = {1}, n2 = {2};
  for (ChallengeStrategy s : {ChallengeStrategy::kUniform, ChallengeStrategy::kInput, ChallengeStrategy::kWeighted}) {
    const auto a = DrawCells(ChallengeSeed(Root(), n1), layout, s, 10);
    EXPECT_EQ(a, DrawCells(ChallengeSeed(Root(), n1), layout, s, 10));
    EXPECT_NE(a, DrawCells(ChallengeSeed(Root(), n2), layout, s, 10));
    EXPECT_EQ(a.size(), 10u);
    EXPECT_EQ(std::set<Cell>(a.begin(), a.end()).size(), a.size());
    EXPECT_TRUE(std::is_sorted(a.begin(), a.end()));
    for (const Cell& c : a) {
      EXPECT_LT(c.block, 4);
      EXPECT_LT(c.step_block, 25);
      if (s == ChallengeStrategy::kInput) {
        EXPECT_EQ(c.block, 0);
      }
    }
  }
  EXPECT_EQ(DrawCells(ChallengeSeed(Root(), n1), layout, ChallengeStrategy::kUniform, 1000).size(), 100u);
  EXPECT_EQ(DrawCells(ChallengeSeed(Root(), n1), layout, ChallengeStrategy::kInput, 1000).size(), 25u);
}

TEST(ChallengeTest, UniformDrawVisitsEveryCellAlike) {
  const TraceLayout layout{3, 2, 8};  // 12 cells
  std::vector<int> hits(12);
  for (uint8_t n = 0; n < 200; ++n)
    for (const Cell& c : DrawCells(ChallengeSeed(Root(), std::vector<uint8_t>{n, 1}), layout,
                                   ChallengeStrategy::kUniform, 3))
      ++hits[static_cast<size_t>(c.step_block * 3 + c.block)];
  for (int h : hits) EXPECT_NEAR(h, 50, 25);  // 600 draws over 12 cells
}

TEST(ChallengeTest, WeightedDrawPrefersTheEdgeBlocks) {
  const TraceLayout layout{4, 1, 50};
  int edge = 0, total = 0;
  for (uint8_t n = 0; n < 100; ++n)
    for (const Cell& c : DrawCells(ChallengeSeed(Root(), std::vector<uint8_t>{n}), layout,
                                   ChallengeStrategy::kWeighted, 4)) {
      edge += c.block == 0 || c.block == 3;
      ++total;
    }
  EXPECT_NEAR(static_cast<double>(edge) / total, 2.0 / 3.0, 0.08);  // weights 2,1,1,2
}

TEST(ChallengeTest, UniformBoundIsHypergeometric) {
  const TraceLayout layout{4, 8, 200};
  const Population p = ChallengePopulation(layout, ChallengeStrategy::kUniform);
  for (int64_t s : {1, 8, 32})
    for (double f : {0.01, 0.05, 0.10}) {
      const int64_t n = 100, d = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(f * n)));
      // C(n-d, s) / C(n, s) through log-gamma, independently of the product form.
      const double exact = std::exp(std::lgamma(n - d + 1.0) - std::lgamma(n - d - s + 1.0) -
                                    std::lgamma(n + 1.0) + std::lgamma(n - s + 1.0));
      EXPECT_NEAR(MissProbabilityBound(p, s, f), exact, 1e-9) << s << " " << f;
      EXPECT_LE(MissProbabilityBound(p, s, f), std::pow(1 - f, s) + 1e-12);
    }
  EXPECT_EQ(MissProbabilityBound(p, 100, 0.01), 0.0);
}

TEST(ChallengeTest, ParsesExplicitCells) {
  const TraceLayout layout{3, 2, 8};
  auto c = ParseCells("2,3;0,0", layout);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*c, (std::vector<Cell>{{0, 0}, {2, 3}}));
  for (const char* bad : {"3,0", "0,4", "1", "1,1;1,1", "a,1", "", "1,1;"})
    EXPECT_FALSE(ParseCells(bad, layout).ok()) << bad;
  EXPECT_FALSE(ParseChallengeStrategy("random").ok());
}

}  // namespace
}  // namespace aftune
