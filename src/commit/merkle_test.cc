#include "commit/merkle.h"

#include <gtest/gtest.h>

#include <bit>

#include "commit/compact_range.h"
#include "commit/test_vectors.h"

namespace aftune {
namespace {

using testing::H;
using testing::Hashes;

// Certificate Transparency's test tree, re-entered from
// github.com/transparency-dev/merkle proof/verify_test.go (the same values as
// google/certificate-transparency's merkle_tree_test.cc): leaf data, the
// roots of every prefix 1..8, and published inclusion/consistency proofs.
const char* kCtLeaves[] = {"", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                           "606162636465666768696a6b6c6d6e6f"};
const char* kCtRoots[] = {
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};
struct CtProof {
  uint64_t a, b;  // inclusion: 0-based index, size; consistency: sizes
  std::vector<const char*> hashes;
};
const CtProof kCtInclusion[] = {
    {0, 8,
     {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
    {5, 8,
     {"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
    {2, 3, {"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"}},
    {1, 5,
     {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
};
const CtProof kCtConsistency[] = {
    {1, 8,
     {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
    {6, 8,
     {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
    {2, 5,
     {"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
    {6, 7,
     {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
};

std::vector<Hash> CtLeafHashes() {
  std::vector<Hash> out;
  for (const char* l : kCtLeaves) out.push_back(LeafHash(testing::Bytes(l)));
  return out;
}

std::vector<Hash> ToHashes(const std::vector<const char*>& hex) {
  std::vector<Hash> out;
  for (const char* h : hex) out.push_back(H(h));
  return out;
}

// Leaves 0..n-1 with distinct data.
std::vector<Hash> SyntheticLeaves(size_t n) {
  std::vector<Hash> out;
  for (size_t i = 0; i < n; i++) out.push_back(LeafHash(AsBytes("leaf " + std::to_string(i))));
  return out;
}

TEST(Merkle, EmptyTreeIsSha256OfNothing) {
  EXPECT_EQ(HashToHex(EmptyTreeRoot()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(MerkleRoot({}), EmptyTreeRoot());
  EXPECT_EQ(MerkleBuilder().Root(), EmptyTreeRoot());
}

TEST(Merkle, CtRootsForEveryPrefix) {
  std::vector<Hash> leaves = CtLeafHashes();
  MerkleBuilder b;
  for (size_t n = 1; n <= 8; n++) {
    EXPECT_EQ(HashToHex(MerkleRoot(std::span(leaves).first(n))), kCtRoots[n - 1]) << n;
    b.AppendLeafHash(leaves[n - 1]);
    EXPECT_EQ(HashToHex(b.Root()), kCtRoots[n - 1]) << n;
  }
}

TEST(Merkle, CtInclusionProofs) {
  std::vector<Hash> leaves = CtLeafHashes();
  for (const CtProof& p : kCtInclusion) {
    std::vector<Hash> want = ToHashes(p.hashes);
    EXPECT_EQ(MakeInclusionProof(std::span(leaves).first(p.b), p.a), want) << p.a << "/" << p.b;
    EXPECT_TRUE(VerifyInclusion(p.a, p.b, leaves[p.a], want, H(kCtRoots[p.b - 1])).ok());
  }
}

TEST(Merkle, CtConsistencyProofs) {
  std::vector<Hash> leaves = CtLeafHashes();
  for (const CtProof& p : kCtConsistency) {
    std::vector<Hash> want = ToHashes(p.hashes);
    EXPECT_EQ(MakeConsistencyProof(std::span(leaves).first(p.b), p.a), want) << p.a << "->" << p.b;
    Status st = VerifyConsistency(p.a, p.b, H(kCtRoots[p.a - 1]), H(kCtRoots[p.b - 1]), want);
    EXPECT_TRUE(st.ok()) << st.ToString();
  }
}

// tests/vectors/merkle.json: every proof of the CT tree, from the Python
// reference in make_vectors.py.
TEST(Merkle, VectorFile) {
  nlohmann::json v = testing::LoadVectors("merkle.json");
  std::vector<Hash> leaves;
  for (const auto& l : v["leaves"]) leaves.push_back(LeafHash(testing::Bytes(l.get<std::string>())));
  EXPECT_EQ(leaves, Hashes(v["leaf_hashes"]));
  std::vector<Hash> roots = Hashes(v["roots"]);
  ASSERT_EQ(roots.size(), 9u);
  for (size_t n = 0; n <= 8; n++) EXPECT_EQ(MerkleRoot(std::span(leaves).first(n)), roots[n]) << n;
  size_t count = 0;
  for (const auto& p : v["inclusion"]) {
    uint64_t i = p["index"], n = p["size"];
    std::vector<Hash> proof = Hashes(p["proof"]);
    EXPECT_EQ(MakeInclusionProof(std::span(leaves).first(n), i), proof) << i << "/" << n;
    EXPECT_TRUE(VerifyInclusion(i, n, leaves[i], proof, roots[n]).ok()) << i << "/" << n;
    count++;
  }
  for (const auto& p : v["consistency"]) {
    uint64_t m = p["old_size"], n = p["new_size"];
    std::vector<Hash> proof = Hashes(p["proof"]);
    EXPECT_EQ(MakeConsistencyProof(std::span(leaves).first(n), m), proof) << m << "->" << n;
    Status st = VerifyConsistency(m, n, roots[m], roots[n], proof);
    EXPECT_TRUE(st.ok()) << m << "->" << n << ": " << st.ToString();
    count++;
  }
  EXPECT_EQ(count, 36u + 45u);
}

// Every way of spoiling a valid inclusion proof is rejected.
void ExpectInclusionRejections(uint64_t index, uint64_t size, const Hash& leaf, const std::vector<Hash>& proof,
                               const Hash& root) {
  SCOPED_TRACE(std::to_string(index) + "/" + std::to_string(size));
  ASSERT_TRUE(VerifyInclusion(index, size, leaf, proof, root).ok());
  Hash other = Sha256Of("other");
  if (index > 0) {
    EXPECT_FALSE(VerifyInclusion(index - 1, size, leaf, proof, root).ok());
  }
  EXPECT_FALSE(VerifyInclusion(index + 1, size, leaf, proof, root).ok());
  EXPECT_FALSE(VerifyInclusion(index ^ 2, size, leaf, proof, root).ok());
  EXPECT_FALSE(VerifyInclusion(index, size * 2, leaf, proof, root).ok());
  EXPECT_FALSE(VerifyInclusion(index, size / 2, leaf, proof, root).ok());
  EXPECT_EQ(VerifyInclusion(index, size, other, proof, root).code(), Status::Code::kMismatch);
  EXPECT_EQ(VerifyInclusion(index, size, leaf, proof, other).code(), Status::Code::kMismatch);
  EXPECT_FALSE(VerifyInclusion(index, size, leaf, proof, EmptyTreeRoot()).ok());
  auto with = [&](std::vector<Hash> p) { return VerifyInclusion(index, size, leaf, p, root); };
  std::vector<Hash> p = proof;
  p.push_back(root);
  EXPECT_EQ(with(p).code(), Status::Code::kCorruption);  // trailing hash
  p = proof;
  p.insert(p.begin(), root);
  EXPECT_EQ(with(p).code(), Status::Code::kCorruption);  // preceding hash
  if (!proof.empty()) {
    p = proof;
    p.pop_back();
    EXPECT_EQ(with(p).code(), Status::Code::kCorruption);  // truncated
  }
  for (size_t i = 0; i < proof.size(); i++) {
    for (int bit : {0, 3, 255}) {
      p = proof;
      p[i][static_cast<size_t>(bit) / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
      EXPECT_EQ(with(p).code(), Status::Code::kMismatch) << "hash " << i << " bit " << bit;
    }
  }
  if (proof.size() > 1) {
    p = proof;
    std::swap(p[0], p[1]);
    if (p != proof) {
      EXPECT_FALSE(with(p).ok());
    }
  }
}

TEST(Merkle, CorruptedInclusionProofsRejected) {
  std::vector<Hash> leaves = SyntheticLeaves(20);
  for (uint64_t n = 1; n <= leaves.size(); n++) {
    auto tree = std::span(leaves).first(n);
    Hash root = MerkleRoot(tree);
    for (uint64_t i = 0; i < n; i++) ExpectInclusionRejections(i, n, leaves[i], MakeInclusionProof(tree, i), root);
  }
}

TEST(Merkle, CorruptedConsistencyProofsRejected) {
  std::vector<Hash> leaves = SyntheticLeaves(20);
  Hash other = Sha256Of("other");
  for (uint64_t n = 1; n <= leaves.size(); n++) {
    Hash r2 = MerkleRoot(std::span(leaves).first(n));
    for (uint64_t m = 1; m < n; m++) {
      SCOPED_TRACE(std::to_string(m) + "->" + std::to_string(n));
      Hash r1 = MerkleRoot(std::span(leaves).first(m));
      std::vector<Hash> proof = MakeConsistencyProof(std::span(leaves).first(n), m);
      ASSERT_TRUE(VerifyConsistency(m, n, r1, r2, proof).ok());
      auto check = [&](uint64_t a, uint64_t b, const Hash& x, const Hash& y, const std::vector<Hash>& p) {
        return VerifyConsistency(a, b, x, y, p);
      };
      EXPECT_FALSE(check(m - 1, n, r1, r2, proof).ok());
      EXPECT_FALSE(check(m + 1, n, r1, r2, proof).ok());
      EXPECT_FALSE(check(m ^ 2, n, r1, r2, proof).ok());
      EXPECT_FALSE(check(m, n * 2, r1, r2, proof).ok());
      EXPECT_FALSE(check(m, n / 2, r1, r2, proof).ok());
      EXPECT_EQ(check(m, n, other, r2, proof).code(), Status::Code::kMismatch);
      EXPECT_EQ(check(m, n, r1, other, proof).code(), Status::Code::kMismatch);
      EXPECT_FALSE(check(m, n, r2, r1, proof).ok());
      EXPECT_EQ(check(m, n, r1, r2, {}).code(), Status::Code::kCorruption);
      std::vector<Hash> p = proof;
      p.push_back(r1);
      EXPECT_EQ(check(m, n, r1, r2, p).code(), Status::Code::kCorruption);
      p = proof;
      p.insert(p.begin(), r2);
      EXPECT_EQ(check(m, n, r1, r2, p).code(), Status::Code::kCorruption);
      p = proof;
      p.pop_back();
      EXPECT_EQ(check(m, n, r1, r2, p).code(), Status::Code::kCorruption);
      for (size_t i = 0; i < proof.size(); i++) {
        p = proof;
        p[i][0] ^= 16;
        EXPECT_EQ(check(m, n, r1, r2, p).code(), Status::Code::kMismatch) << "hash " << i;
      }
    }
  }
}

TEST(Merkle, ConsistencyEdgeCases) {
  Hash a = Sha256Of("a"), b = Sha256Of("b");
  Hash e = EmptyTreeRoot();
  EXPECT_TRUE(VerifyConsistency(0, 0, e, e, {}).ok());
  EXPECT_TRUE(VerifyConsistency(0, 5, e, b, {}).ok());
  EXPECT_EQ(VerifyConsistency(0, 5, a, b, {}).code(), Status::Code::kMismatch);  // size 0 must have the empty root
  EXPECT_TRUE(VerifyConsistency(3, 3, a, a, {}).ok());
  EXPECT_EQ(VerifyConsistency(3, 3, a, b, {}).code(), Status::Code::kMismatch);
  EXPECT_EQ(VerifyConsistency(3, 3, a, a, std::vector<Hash>{e}).code(), Status::Code::kCorruption);
  EXPECT_EQ(VerifyConsistency(0, 3, e, a, std::vector<Hash>{e}).code(), Status::Code::kCorruption);
  EXPECT_EQ(VerifyConsistency(4, 3, a, b, {}).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(VerifyConsistency(1, 2, a, b, {}).code(), Status::Code::kCorruption);
}

TEST(Merkle, InclusionEdgeCases) {
  Hash a = Sha256Of("a");
  EXPECT_TRUE(VerifyInclusion(0, 1, a, {}, a).ok());
  EXPECT_EQ(VerifyInclusion(0, 0, a, {}, EmptyTreeRoot()).code(), Status::Code::kCorruption);
  EXPECT_EQ(VerifyInclusion(1, 1, a, {}, a).code(), Status::Code::kCorruption);
  EXPECT_EQ(VerifyInclusion(UINT64_MAX, UINT64_MAX, a, {}, a).code(), Status::Code::kCorruption);
  // Huge trees: the length check happens before any hashing.
  std::vector<Hash> p(64, a);
  EXPECT_FALSE(VerifyInclusion(UINT64_MAX - 1, UINT64_MAX, a, p, a).ok());
  EXPECT_FALSE(VerifyConsistency(UINT64_MAX - 1, UINT64_MAX, a, a, p).ok());
}

TEST(Merkle, BuilderMatchesReferenceForManySizes) {
  std::vector<Hash> leaves = SyntheticLeaves(300);
  MerkleBuilder b;
  for (size_t n = 0; n <= leaves.size(); n++) {
    ASSERT_EQ(b.size(), n);
    ASSERT_EQ(b.Root(), MerkleRoot(std::span(leaves).first(n))) << n;
    EXPECT_EQ(b.range().size(), static_cast<size_t>(std::popcount(n)));
    if (n < leaves.size()) b.AppendLeafHash(leaves[n]);
  }
}

// Proofs made for every (index, size) and (old, new) up to 40 verify.
TEST(Merkle, AllSmallProofsVerify) {
  std::vector<Hash> leaves = SyntheticLeaves(40);
  for (uint64_t n = 1; n <= leaves.size(); n++) {
    auto tree = std::span(leaves).first(n);
    Hash root = MerkleRoot(tree);
    for (uint64_t i = 0; i < n; i++) {
      ASSERT_TRUE(VerifyInclusion(i, n, leaves[i], MakeInclusionProof(tree, i), root).ok()) << i << "/" << n;
    }
    for (uint64_t m = 0; m <= n; m++) {
      Hash r1 = MerkleRoot(std::span(leaves).first(m));
      Status st = VerifyConsistency(m, n, r1, root, MakeConsistencyProof(tree, m));
      ASSERT_TRUE(st.ok()) << m << "->" << n << ": " << st.ToString();
    }
  }
}

}  // namespace
}  // namespace aftune

namespace aftune {
namespace {

// Found by proof_fuzz: when index and size - 1 differ in the top bit, the
// paths part at level 64 and the length rule must not shift by 64.
TEST(MerkleHugeTree, PathsPartingAtTheTopBit) {
  const uint64_t size = (uint64_t{1} << 63) + 1;
  const Hash leaf = LeafHash(std::span<const uint8_t>());
  std::vector<Hash> proof(64, leaf);
  // Index 0 of such a tree has a 64-hash path; a root that is not the one the
  // path leads to is a mismatch, and a path of another length is malformed.
  EXPECT_EQ(VerifyInclusion(0, size, leaf, proof, leaf).code(), Status::Code::kMismatch);
  proof.pop_back();
  EXPECT_EQ(VerifyInclusion(0, size, leaf, proof, leaf).code(), Status::Code::kCorruption);
}

}  // namespace
}  // namespace aftune
