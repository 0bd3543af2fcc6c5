#include "commit/merkle.h"

#include <bit>
#include <string>

namespace aftune {

namespace {

// Expected inclusion path length for (index, size), index < size: the levels
// where the path to `index` has a sibling (RFC 9162 §2.1.3.2 consumes exactly
// this many hashes). `inner` counts the levels below the point where the
// paths to index and size-1 part; `border` the right-border levels above it.
void DecomposeInclusion(uint64_t index, uint64_t size, int* inner, int* border) {
  *inner = std::bit_width(index ^ (size - 1));
  // A shift by 64 is undefined: when the paths part at the top, no border remains.
  *border = *inner >= 64 ? 0 : std::popcount(index >> *inner);
}

std::string Str(uint64_t v) { return std::to_string(v); }

}  // namespace

Hash EmptyTreeRoot() { return Sha256Of(std::string_view()); }

Hash LeafHash(std::span<const uint8_t> data) {
  thread_local Sha256 h;
  h.Update(uint8_t{0x00});
  h.Update(data);
  return h.Finish();
}

Hash NodeHash(const Hash& left, const Hash& right) {
  uint8_t buf[65];
  buf[0] = 0x01;
  std::copy(left.begin(), left.end(), buf + 1);
  std::copy(right.begin(), right.end(), buf + 33);
  return Sha256Of(std::span<const uint8_t>(buf, sizeof buf));
}

uint64_t SplitPoint(uint64_t n) {
  AFTUNE_CHECK(n >= 2);
  return std::bit_floor(n - 1);
}

Hash MerkleRoot(std::span<const Hash> leaves) {
  if (leaves.empty()) return EmptyTreeRoot();
  if (leaves.size() == 1) return leaves[0];
  uint64_t k = SplitPoint(leaves.size());
  return NodeHash(MerkleRoot(leaves.first(k)), MerkleRoot(leaves.subspan(k)));
}

InclusionProof MakeInclusionProof(std::span<const Hash> leaves, uint64_t index) {
  AFTUNE_CHECK(index < leaves.size());
  InclusionProof proof;
  // PATH(m, D[n]) = PATH(m, D[0:k]) : MTH(D[k:n])      for m < k
  //              = PATH(m-k, D[k:n]) : MTH(D[0:k])    for m >= k
  // Walk down, collecting siblings top-down, then reverse to leaf-first order.
  while (leaves.size() > 1) {
    uint64_t k = SplitPoint(leaves.size());
    if (index < k) {
      proof.push_back(MerkleRoot(leaves.subspan(k)));
      leaves = leaves.first(k);
    } else {
      proof.push_back(MerkleRoot(leaves.first(k)));
      leaves = leaves.subspan(k);
      index -= k;
    }
  }
  return InclusionProof(proof.rbegin(), proof.rend());
}

ConsistencyProof MakeConsistencyProof(std::span<const Hash> leaves, uint64_t old_size) {
  AFTUNE_CHECK(old_size <= leaves.size());
  ConsistencyProof proof;
  if (old_size == 0 || old_size == leaves.size()) return proof;
  // SUBPROOF(m, D[n], b):
  //   m == n: {} if b, else {MTH(D[n])}
  //   m <= k: SUBPROOF(m, D[0:k], b) : MTH(D[k:n])
  //   m >  k: SUBPROOF(m-k, D[k:n], false) : MTH(D[0:k])
  bool complete = true;
  uint64_t m = old_size;
  while (m != leaves.size()) {
    uint64_t k = SplitPoint(leaves.size());
    if (m <= k) {
      proof.push_back(MerkleRoot(leaves.subspan(k)));
      leaves = leaves.first(k);
    } else {
      proof.push_back(MerkleRoot(leaves.first(k)));
      leaves = leaves.subspan(k);
      m -= k;
      complete = false;
    }
  }
  if (!complete) proof.push_back(MerkleRoot(leaves));
  return ConsistencyProof(proof.rbegin(), proof.rend());
}

Result<Hash> RootFromInclusionProof(uint64_t index, uint64_t size, const Hash& leaf,
                                    std::span<const Hash> proof) {
  if (index >= size) {
    return Status::Corruption("inclusion proof: index " + Str(index) + " is not below tree size " + Str(size));
  }
  int inner, border;
  DecomposeInclusion(index, size, &inner, &border);
  if (proof.size() != static_cast<size_t>(inner + border)) {
    return Status::Corruption("inclusion proof: " + Str(proof.size()) + " hashes, want " +
                              Str(static_cast<uint64_t>(inner + border)) + " for index " + Str(index) +
                              " in tree size " + Str(size));
  }
  // RFC 9162 §2.1.3.2.
  uint64_t fn = index, sn = size - 1;
  Hash r = leaf;
  for (const Hash& p : proof) {
    AFTUNE_CHECK(sn != 0);  // excluded by the length check above
    if ((fn & 1) == 1 || fn == sn) {
      r = NodeHash(p, r);
      while ((fn & 1) == 0 && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      r = NodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  AFTUNE_CHECK(sn == 0);
  return r;
}

Status VerifyInclusion(uint64_t index, uint64_t size, const Hash& leaf, std::span<const Hash> proof,
                       const Hash& root) {
  AFTUNE_ASSIGN_OR_RETURN(Hash got, RootFromInclusionProof(index, size, leaf, proof));
  if (got != root) {
    return Status::Mismatch("inclusion proof: leaf " + Str(index) + " does not lead to the root of tree size " +
                            Str(size));
  }
  return Status::Ok();
}

Status VerifyConsistency(uint64_t old_size, uint64_t new_size, const Hash& old_root, const Hash& new_root,
                         std::span<const Hash> proof) {
  if (old_size > new_size) {
    return Status::InvalidArgument("consistency proof: old size " + Str(old_size) + " exceeds new size " +
                                   Str(new_size));
  }
  if (old_size == new_size || old_size == 0) {
    if (!proof.empty()) {
      return Status::Corruption("consistency proof: must be empty from size " + Str(old_size) + " to " +
                                Str(new_size));
    }
    if (old_size == 0 && old_root != EmptyTreeRoot()) {
      return Status::Mismatch("consistency proof: old root is not the empty-tree root");
    }
    if (old_size == new_size && old_root != new_root) {
      return Status::Mismatch("consistency proof: trees of equal size " + Str(old_size) + " have different roots");
    }
    return Status::Ok();
  }
  // 0 < old_size < new_size. Expected length: the inclusion path of leaf
  // old_size-1 in the new tree, minus the levels covered by the largest
  // complete subtree ending at old_size, plus that subtree's own hash unless
  // the old tree is exactly that subtree.
  int inner, border;
  DecomposeInclusion(old_size - 1, new_size, &inner, &border);
  int shift = std::countr_zero(old_size);
  inner -= shift;
  bool old_is_pow2 = old_size == (uint64_t{1} << shift);
  size_t want = static_cast<size_t>(inner + border) + (old_is_pow2 ? 0 : 1);
  if (proof.size() != want) {
    return Status::Corruption("consistency proof: " + Str(proof.size()) + " hashes, want " + Str(want) +
                              " from size " + Str(old_size) + " to " + Str(new_size));
  }
  // RFC 9162 §2.1.4.2.
  std::vector<Hash> path;
  path.reserve(proof.size() + 1);
  if (old_is_pow2) path.push_back(old_root);
  path.insert(path.end(), proof.begin(), proof.end());
  uint64_t fn = old_size - 1, sn = new_size - 1;
  while ((fn & 1) == 1) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash fr = path[0], sr = path[0];
  for (size_t i = 1; i < path.size(); i++) {
    const Hash& c = path[i];
    AFTUNE_CHECK(sn != 0);  // excluded by the length check above
    if ((fn & 1) == 1 || fn == sn) {
      fr = NodeHash(c, fr);
      sr = NodeHash(c, sr);
      while ((fn & 1) == 0 && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      sr = NodeHash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  AFTUNE_CHECK(sn == 0);
  if (fr != old_root) {
    return Status::Mismatch("consistency proof: does not lead to the old root of size " + Str(old_size));
  }
  if (sr != new_root) {
    return Status::Mismatch("consistency proof: does not lead to the new root of size " + Str(new_size));
  }
  return Status::Ok();
}

}  // namespace aftune
