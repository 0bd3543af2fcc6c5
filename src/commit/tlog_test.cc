#include "commit/tlog.h"

#include <gtest/gtest.h>

#include <bit>

#include "commit/test_vectors.h"

namespace aftune {
namespace {

std::vector<Hash> SyntheticLeaves(size_t n) {
  std::vector<Hash> out;
  for (size_t i = 0; i < n; i++) out.push_back(LeafHash(AsBytes("record " + std::to_string(i))));
  return out;
}

TEST(Tlog, StoredHashIndexLayout) {
  // The order in which appending leaves 0..7 writes hashes (tlog.h).
  const std::pair<int, uint64_t> order[] = {{0, 0}, {0, 1}, {1, 0}, {0, 2}, {0, 3}, {1, 1}, {2, 0}, {0, 4},
                                            {0, 5}, {1, 2}, {0, 6}, {0, 7}, {1, 3}, {2, 1}, {3, 0}};
  for (uint64_t i = 0; i < std::size(order); i++) {
    EXPECT_EQ(StoredHashIndex(order[i].first, order[i].second), i);
  }
  for (uint64_t i = 0; i < 100000; i++) {
    int level;
    uint64_t pos;
    SplitStoredHashIndex(i, &level, &pos);
    ASSERT_EQ(StoredHashIndex(level, pos), i);
  }
  EXPECT_EQ(StoredHashCount(0), 0u);
  EXPECT_EQ(StoredHashCount(1), 1u);
  EXPECT_EQ(StoredHashCount(2), 3u);
  EXPECT_EQ(StoredHashCount(8), 15u);
  EXPECT_LT(StoredHashCount(1000000), 2000000u);
}

TEST(Tlog, MemoryLogAgreesWithReference) {
  std::vector<Hash> leaves = SyntheticLeaves(70);
  MemoryLog log;
  for (const Hash& l : leaves) log.Append(l);
  for (uint64_t n = 0; n <= leaves.size(); n++) {
    auto tree = std::span(leaves).first(n);
    if (n > 0) {
      ASSERT_EQ(StoredHashCount(n), StoredHashIndex(0, n - 1) + 1 + std::countr_one(n - 1));
    }
    Result<Hash> root = TreeRoot(n, log);
    ASSERT_TRUE(root.ok());
    ASSERT_EQ(*root, MerkleRoot(tree)) << n;
    for (uint64_t i = 0; i < n; i++) {
      Result<InclusionProof> p = ProveInclusion(i, n, log);
      ASSERT_TRUE(p.ok());
      ASSERT_EQ(*p, MakeInclusionProof(tree, i)) << i << "/" << n;
    }
    for (uint64_t m = 0; m <= n; m++) {
      Result<ConsistencyProof> p = ProveConsistency(m, n, log);
      ASSERT_TRUE(p.ok());
      ASSERT_EQ(*p, MakeConsistencyProof(tree, m)) << m << "->" << n;
    }
  }
  EXPECT_EQ(log.stored().size(), StoredHashCount(leaves.size()));
}

TEST(Tlog, InvalidRequests) {
  MemoryLog log;
  for (const Hash& l : SyntheticLeaves(5)) log.Append(l);
  EXPECT_EQ(ProveInclusion(5, 5, log).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(ProveConsistency(6, 5, log).status().code(), Status::Code::kInvalidArgument);
  // Asking beyond what is stored is the reader's NotFound.
  EXPECT_EQ(TreeRoot(6, log).status().code(), Status::Code::kNotFound);
  EXPECT_EQ(ProveInclusion(0, 9, log).status().code(), Status::Code::kNotFound);
}

// A virtual log of `size` leaves whose stored hash i is SHA-256(i); counts
// what is read.
class CountingReader : public HashReader {
 public:
  Result<std::vector<Hash>> ReadHashes(std::span<const uint64_t> indexes) override {
    calls++;
    reads += indexes.size();
    std::vector<Hash> out;
    for (uint64_t i : indexes) out.push_back(Sha256Of(AsBytes(std::to_string(i))));
    if (short_answer && !out.empty()) out.pop_back();
    return out;
  }
  int calls = 0;
  size_t reads = 0;
  bool short_answer = false;
};

TEST(Tlog, ProofsReadLogarithmicallyManyHashesInOneCall) {
  const uint64_t n = 1000003;  // log2 ~ 20
  for (uint64_t i : {uint64_t{0}, uint64_t{1}, n / 2, n - 2, n - 1}) {
    CountingReader r;
    Result<InclusionProof> p = ProveInclusion(i, n, r);
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(r.calls, 1);
    EXPECT_LE(r.reads, 2u * 21u) << i;
  }
  for (uint64_t m : {uint64_t{1}, uint64_t{7}, n / 3, n - 1}) {
    CountingReader r;
    ASSERT_TRUE(ProveConsistency(m, n, r).ok());
    EXPECT_EQ(r.calls, 1);
    EXPECT_LE(r.reads, 3u * 21u) << m;
  }
  CountingReader r;
  ASSERT_TRUE(TreeRoot(n, r).ok());
  EXPECT_EQ(r.calls, 1);
  EXPECT_LE(r.reads, 21u);
}

// For huge trees the provers (over a virtual log) and the verifiers' length
// rules agree: a proof of the right shape is judged on its hashes (kMismatch
// against a wrong root), never on its length (kCorruption).
TEST(Tlog, ProofShapesAgreeWithVerifiersForHugeTrees) {
  uint64_t x = 0x9e3779b97f4a7c15u;
  auto next = [&] {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    return x;
  };
  Hash a = Sha256Of("a"), b = Sha256Of("b");
  for (int iter = 0; iter < 2000; iter++) {
    uint64_t n = next() >> (24 + next() % 40);
    if (n < 2) continue;
    uint64_t i = next() % n, m = 1 + next() % (n - 1);
    CountingReader r;
    Result<InclusionProof> p = ProveInclusion(i, n, r);
    ASSERT_TRUE(p.ok());
    ASSERT_TRUE(RootFromInclusionProof(i, n, a, *p).ok()) << i << "/" << n;
    Result<ConsistencyProof> c = ProveConsistency(m, n, r);
    ASSERT_TRUE(c.ok());
    ASSERT_EQ(VerifyConsistency(m, n, a, b, *c).code(), Status::Code::kMismatch) << m << "->" << n;
  }
}

TEST(Tlog, ShortReaderAnswerIsCorruption) {
  CountingReader r;
  r.short_answer = true;
  EXPECT_EQ(TreeRoot(1000, r).status().code(), Status::Code::kCorruption);
  EXPECT_EQ(ProveInclusion(3, 1000, r).status().code(), Status::Code::kCorruption);
}

TEST(Tlog, ProofsFromCorruptedStorageFailToVerify) {
  std::vector<Hash> leaves = SyntheticLeaves(13);
  MemoryLog good;
  for (const Hash& l : leaves) good.Append(l);
  Hash root = MerkleRoot(leaves);
  // Corrupt each stored hash in turn: every proof that reads it must fail
  // against the trusted root, the others still verify.
  for (size_t s = 0; s < good.stored().size(); s++) {
    MemoryLog bad = good;
    const_cast<Hash&>(bad.stored()[s])[7] ^= 1;
    for (uint64_t i = 0; i < leaves.size(); i++) {
      Result<InclusionProof> p = ProveInclusion(i, leaves.size(), bad);
      ASSERT_TRUE(p.ok());
      Result<InclusionProof> want = ProveInclusion(i, leaves.size(), good);
      Status st = VerifyInclusion(i, leaves.size(), leaves[i], *p, root);
      EXPECT_EQ(st.ok(), *p == *want) << s << " " << i;
    }
  }
}

}  // namespace
}  // namespace aftune
