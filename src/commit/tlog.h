// A Merkle log kept as stored hashes, with proofs that read O(log n) of them.
//
// Modelled on Go's golang.org/x/mod/sumdb/tlog. A log of n leaves stores every
// hash of a *complete* subtree, i.e. the hash at level L, position k covering
// leaves [k·2^L, (k+1)·2^L) once those leaves exist. These are laid out in one
// dense sequence in the order they become computable: appending leaf n writes
// the leaf hash (level 0, position n) and then the hash of every subtree that
// leaf completes (levels 1, 2, … while n's low bits are 1). The index of
// (level L, position k) in that sequence is StoredHashIndex(L, k); a log of n
// leaves holds StoredHashCount(n) < 2n hashes, so 10^6 leaves need ~64 MB.
//
//   index  0     1     2     3     4     5     6     7     8     9     10 …
//   (L,k)  (0,0) (0,1) (1,0) (0,2) (0,3) (1,1) (2,0) (0,4) (0,5) (1,2) (0,6) …
//
// Any root or proof is then built from at most O(log n) stored hashes, fetched
// in ONE HashReader::ReadHashes call (one SQL query, one disk seek batch).
// The results equal merkle.h's reference provers bit for bit (tlog_test.cc).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/status.h"
#include "commit/merkle.h"

namespace aftune {

// Storage for a log's hashes, read by index.
//
// ReadHashes returns the hashes at `indexes`, in the same order and of the
// same count; kNotFound (or any error) when one is missing. Implementations
// may be backed by SQLite, a file or memory.
//
// Trust rule: hashes read from storage are suspect until checked. A proof
// built from corrupted storage fails to verify against a trusted root; a
// server that must not hand out bad proofs verifies them before sending.
class HashReader {
 public:
  virtual ~HashReader() = default;
  virtual Result<std::vector<Hash>> ReadHashes(std::span<const uint64_t> indexes) = 0;
};

// The storage index of the hash at (level, position).
uint64_t StoredHashIndex(int level, uint64_t position);
// Inverse of StoredHashIndex.
void SplitStoredHashIndex(uint64_t index, int* level, uint64_t* position);
// Number of hashes stored for a log of n leaves.
uint64_t StoredHashCount(uint64_t n);

// The hashes to store when appending leaf number n (0-based) with leaf hash
// `leaf_hash`; store them at indexes StoredHashIndex(0, n), +1, +2, ….
// Reads up to log2(n) earlier hashes. REQUIRES: the log holds n leaves.
Result<std::vector<Hash>> StoredHashesForLeaf(uint64_t n, const Hash& leaf_hash, HashReader& reader);

// The root of the first `size` leaves (size may be any value up to the
// number of leaves stored). EmptyTreeRoot() for size 0.
Result<Hash> TreeRoot(uint64_t size, HashReader& reader);

// RFC 6962 PATH(index, D[size]). kInvalidArgument when index >= size.
Result<InclusionProof> ProveInclusion(uint64_t index, uint64_t size, HashReader& reader);

// RFC 6962 PROOF(old_size, D[new_size]). kInvalidArgument when
// old_size > new_size. Empty when old_size is 0 or new_size.
Result<ConsistencyProof> ProveConsistency(uint64_t old_size, uint64_t new_size, HashReader& reader);

// An in-memory log: the stored hashes in a vector. For tests, tools and
// logs small enough to keep in memory. Not thread-safe.
class MemoryLog : public HashReader {
 public:
  // Appends a leaf (its leaf hash, SHA-256(0x00 ‖ data)); returns its index.
  uint64_t Append(const Hash& leaf_hash);
  uint64_t size() const { return size_; }
  const std::vector<Hash>& stored() const { return stored_; }

  Result<std::vector<Hash>> ReadHashes(std::span<const uint64_t> indexes) override;

 private:
  uint64_t size_ = 0;
  std::vector<Hash> stored_;
};

}  // namespace aftune
