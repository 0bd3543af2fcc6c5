// Streaming Merkle root: append leaf hashes one at a time, ask for the root
// of everything appended so far at any point, keeping only O(log n) hashes.
//
// The state is the "compact range" [0, n) of transparency-dev/merkle: the
// roots of the perfect subtrees that n's binary representation decomposes
// [0, n) into, largest (leftmost) first — one hash per set bit of n. The
// RFC 6962 root is these folded right to left with NodeHash. This is how a
// training trace's root is computed while its lines are being written.
//
//   MerkleBuilder b;
//   for (line : lines) b.AppendData(line);
//   Hash root = b.Root();        // == MerkleRoot(leaf hashes of lines)
//
// Not thread-safe; cheap to copy.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "commit/merkle.h"

namespace aftune {

class MerkleBuilder {
 public:
  // Appends a leaf by its leaf hash (SHA-256(0x00 ‖ data)).
  void AppendLeafHash(const Hash& leaf_hash);
  // Appends a leaf by its data: AppendLeafHash(LeafHash(data)).
  void AppendData(std::span<const uint8_t> data);
  void AppendData(std::string_view data);

  uint64_t size() const { return size_; }
  // MTH of the leaves appended so far; EmptyTreeRoot() when none. O(log n).
  Hash Root() const;
  // The perfect-subtree roots, largest first (one per set bit of size()).
  const std::vector<Hash>& range() const { return range_; }

 private:
  uint64_t size_ = 0;
  std::vector<Hash> range_;
};

}  // namespace aftune
