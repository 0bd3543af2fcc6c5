#include "commit/tlog.h"

#include <bit>
#include <string>

namespace aftune {

namespace {

// Largest power of two <= n, and its log2. REQUIRES: n >= 1.
uint64_t FloorPow2(uint64_t n, int* level) {
  uint64_t k = std::bit_floor(n);
  *level = std::countr_zero(k);
  return k;
}

// The stored-hash indexes that make up MTH(D[lo:hi]): the complete subtrees
// of the largest possible sizes from left to right (RFC 6962 splits the
// remaining fringe the same way).
void SubtreeIndexes(uint64_t lo, uint64_t hi, std::vector<uint64_t>* need) {
  while (lo < hi) {
    int level;
    uint64_t k = FloorPow2(hi - lo, &level);
    AFTUNE_CHECK((lo & (k - 1)) == 0);
    need->push_back(StoredHashIndex(level, lo >> level));
    lo += k;
  }
}

// Consumes the hashes SubtreeIndexes(lo, hi) asked for from the front of
// `hashes` and combines them right to left.
Hash SubtreeHash(uint64_t lo, uint64_t hi, std::span<const Hash>* hashes) {
  size_t count = 0;
  for (uint64_t l = lo; l < hi; count++) {
    int level;
    l += FloorPow2(hi - l, &level);
  }
  AFTUNE_CHECK(count >= 1 && hashes->size() >= count);
  Hash h = (*hashes)[count - 1];
  for (size_t i = count - 1; i-- > 0;) h = NodeHash((*hashes)[i], h);
  *hashes = hashes->subspan(count);
  return h;
}

// PATH(n - lo, D[lo:hi]): the indexes, then the assembly from fetched hashes.
void InclusionIndexes(uint64_t lo, uint64_t hi, uint64_t n, std::vector<uint64_t>* need) {
  AFTUNE_CHECK(lo <= n && n < hi);
  if (lo + 1 == hi) return;
  uint64_t k = SplitPoint(hi - lo);
  if (n < lo + k) {
    InclusionIndexes(lo, lo + k, n, need);
    SubtreeIndexes(lo + k, hi, need);
  } else {
    SubtreeIndexes(lo, lo + k, need);
    InclusionIndexes(lo + k, hi, n, need);
  }
}

void InclusionAssemble(uint64_t lo, uint64_t hi, uint64_t n, std::span<const Hash>* hashes, InclusionProof* out) {
  if (lo + 1 == hi) return;
  uint64_t k = SplitPoint(hi - lo);
  if (n < lo + k) {
    InclusionAssemble(lo, lo + k, n, hashes, out);
    out->push_back(SubtreeHash(lo + k, hi, hashes));
  } else {
    Hash left = SubtreeHash(lo, lo + k, hashes);
    InclusionAssemble(lo + k, hi, n, hashes, out);
    out->push_back(left);
  }
}

// SUBPROOF(m - lo, D[lo:hi], lo == 0): indexes, then assembly.
void ConsistencyIndexes(uint64_t lo, uint64_t hi, uint64_t m, std::vector<uint64_t>* need) {
  AFTUNE_CHECK(lo < m && m <= hi);
  if (m == hi) {
    if (lo != 0) SubtreeIndexes(lo, hi, need);
    return;
  }
  uint64_t k = SplitPoint(hi - lo);
  if (m <= lo + k) {
    ConsistencyIndexes(lo, lo + k, m, need);
    SubtreeIndexes(lo + k, hi, need);
  } else {
    SubtreeIndexes(lo, lo + k, need);
    ConsistencyIndexes(lo + k, hi, m, need);
  }
}

void ConsistencyAssemble(uint64_t lo, uint64_t hi, uint64_t m, std::span<const Hash>* hashes,
                         ConsistencyProof* out) {
  if (m == hi) {
    if (lo != 0) out->push_back(SubtreeHash(lo, hi, hashes));
    return;
  }
  uint64_t k = SplitPoint(hi - lo);
  if (m <= lo + k) {
    ConsistencyAssemble(lo, lo + k, m, hashes, out);
    out->push_back(SubtreeHash(lo + k, hi, hashes));
  } else {
    Hash left = SubtreeHash(lo, lo + k, hashes);
    ConsistencyAssemble(lo + k, hi, m, hashes, out);
    out->push_back(left);
  }
}

Result<std::vector<Hash>> Read(HashReader& reader, const std::vector<uint64_t>& indexes) {
  AFTUNE_ASSIGN_OR_RETURN(std::vector<Hash> hashes, reader.ReadHashes(indexes));
  if (hashes.size() != indexes.size()) {
    return Status::Corruption("hash storage returned " + std::to_string(hashes.size()) + " hashes for " +
                              std::to_string(indexes.size()) + " indexes");
  }
  return hashes;
}

}  // namespace

uint64_t StoredHashIndex(int level, uint64_t position) {
  // (level, k) is stored right after (level-1, 2k+1), the last leaf of its
  // subtree's right half; walk down to level 0, then count: leaf n is stored
  // after n + n/2 + n/4 + … earlier hashes.
  uint64_t n = position;
  for (int l = level; l > 0; l--) n = 2 * n + 1;
  uint64_t i = 0;
  for (; n > 0; n >>= 1) i += n;
  return i + static_cast<uint64_t>(level);
}

void SplitStoredHashIndex(uint64_t index, int* level, uint64_t* position) {
  // StoredHashIndex(0, n) < 2n, so the leaf that wrote `index` is in
  // [index/2, index/2 + log2(index)].
  uint64_t n = index / 2;
  uint64_t index_n = StoredHashIndex(0, n);
  AFTUNE_CHECK(index_n <= index);
  for (;;) {
    // Leaf n writes 1 + trailing_ones(n) hashes.
    uint64_t next = index_n + 1 + static_cast<uint64_t>(std::countr_one(n));
    if (next > index) break;
    n++;
    index_n = next;
  }
  *level = static_cast<int>(index - index_n);
  *position = n >> *level;
}

uint64_t StoredHashCount(uint64_t n) {
  if (n == 0) return 0;
  return StoredHashIndex(0, n - 1) + 1 + static_cast<uint64_t>(std::countr_one(n - 1));
}

Result<std::vector<Hash>> StoredHashesForLeaf(uint64_t n, const Hash& leaf_hash, HashReader& reader) {
  // Each trailing 1 bit of n completes a subtree whose left half is stored.
  int m = std::countr_one(n);
  std::vector<uint64_t> indexes(static_cast<size_t>(m));
  for (int i = 0; i < m; i++) {
    // Sorted ascending: the left sibling at level i is (i, (n >> i) - 1).
    indexes[static_cast<size_t>(m - 1 - i)] = StoredHashIndex(i, (n >> i) - 1);
  }
  std::vector<Hash> old;
  if (m > 0) {
    AFTUNE_ASSIGN_OR_RETURN(old, Read(reader, indexes));
  }
  std::vector<Hash> out{leaf_hash};
  Hash h = leaf_hash;
  for (int i = 0; i < m; i++) {
    h = NodeHash(old[static_cast<size_t>(m - 1 - i)], h);
    out.push_back(h);
  }
  return out;
}

Result<Hash> TreeRoot(uint64_t size, HashReader& reader) {
  if (size == 0) return EmptyTreeRoot();
  std::vector<uint64_t> need;
  SubtreeIndexes(0, size, &need);
  AFTUNE_ASSIGN_OR_RETURN(std::vector<Hash> hashes, Read(reader, need));
  std::span<const Hash> rest(hashes);
  Hash root = SubtreeHash(0, size, &rest);
  AFTUNE_CHECK(rest.empty());
  return root;
}

Result<InclusionProof> ProveInclusion(uint64_t index, uint64_t size, HashReader& reader) {
  if (index >= size) {
    return Status::InvalidArgument("inclusion proof: index " + std::to_string(index) +
                                   " is not below tree size " + std::to_string(size));
  }
  std::vector<uint64_t> need;
  InclusionIndexes(0, size, index, &need);
  InclusionProof proof;
  if (need.empty()) return proof;
  AFTUNE_ASSIGN_OR_RETURN(std::vector<Hash> hashes, Read(reader, need));
  std::span<const Hash> rest(hashes);
  InclusionAssemble(0, size, index, &rest, &proof);
  AFTUNE_CHECK(rest.empty());
  return proof;
}

Result<ConsistencyProof> ProveConsistency(uint64_t old_size, uint64_t new_size, HashReader& reader) {
  if (old_size > new_size) {
    return Status::InvalidArgument("consistency proof: old size " + std::to_string(old_size) +
                                   " exceeds new size " + std::to_string(new_size));
  }
  ConsistencyProof proof;
  if (old_size == 0 || old_size == new_size) return proof;
  std::vector<uint64_t> need;
  ConsistencyIndexes(0, new_size, old_size, &need);
  AFTUNE_ASSIGN_OR_RETURN(std::vector<Hash> hashes, Read(reader, need));
  std::span<const Hash> rest(hashes);
  ConsistencyAssemble(0, new_size, old_size, &rest, &proof);
  AFTUNE_CHECK(rest.empty());
  return proof;
}

uint64_t MemoryLog::Append(const Hash& leaf_hash) {
  Result<std::vector<Hash>> add = StoredHashesForLeaf(size_, leaf_hash, *this);
  AFTUNE_CHECK(add.ok());  // reads only hashes this log already holds
  AFTUNE_CHECK(stored_.size() == StoredHashIndex(0, size_));
  stored_.insert(stored_.end(), add->begin(), add->end());
  return size_++;
}

Result<std::vector<Hash>> MemoryLog::ReadHashes(std::span<const uint64_t> indexes) {
  std::vector<Hash> out;
  out.reserve(indexes.size());
  for (uint64_t i : indexes) {
    if (i >= stored_.size()) {
      return Status::NotFound("memory log: no stored hash " + std::to_string(i) + " (holds " +
                              std::to_string(stored_.size()) + ")");
    }
    out.push_back(stored_[i]);
  }
  return out;
}

}  // namespace aftune
