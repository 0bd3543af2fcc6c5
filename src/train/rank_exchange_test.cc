#include "train/rank_exchange.h"

#include <gtest/gtest.h>

namespace aftune {
namespace {

// The ranks' ranges tile [0, micros) in order, sizes differing by at most one.
TEST(RankMicrosTest, ContiguousInOrderAndBalanced) {
  for (size_t micros : {1, 4, 5, 7, 16}) {
    for (int ranks = 1; ranks <= 6; ++ranks) {
      size_t next = 0, smallest = micros, largest = 0;
      for (int r = 0; r < ranks; ++r) {
        const MicroRange m = RankMicros(micros, ranks, r);
        EXPECT_EQ(m.begin, next) << micros << " micro-batches, rank " << r << " of " << ranks;
        EXPECT_LE(m.begin, m.end);
        smallest = std::min(smallest, m.end - m.begin);
        largest = std::max(largest, m.end - m.begin);
        next = m.end;
      }
      EXPECT_EQ(next, micros);
      EXPECT_LE(largest - smallest, 1u);
    }
  }
}

TEST(RankMicrosTest, FirstRanksTakeTheRemainder) {
  EXPECT_EQ(RankMicros(5, 2, 0).end, 3u);
  EXPECT_EQ(RankMicros(5, 3, 1).begin, 2u);
  EXPECT_EQ(RankMicros(5, 3, 2).begin, 4u);
  EXPECT_EQ(RankMicros(2, 4, 3).begin, RankMicros(2, 4, 3).end);  // no micro-batch
}

}  // namespace
}  // namespace aftune
