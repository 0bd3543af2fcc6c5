#include "commit/compact_range.h"

#include "commit/encoding.h"

namespace aftune {

void MerkleBuilder::AppendLeafHash(const Hash& leaf_hash) {
  // Each trailing 1 bit of the old size is a perfect subtree of the same
  // height as the one being carried up; merge them like a binary increment.
  Hash h = leaf_hash;
  for (uint64_t n = size_; (n & 1) == 1; n >>= 1) {
    h = NodeHash(range_.back(), h);
    range_.pop_back();
  }
  range_.push_back(h);
  size_++;
}

void MerkleBuilder::AppendData(std::span<const uint8_t> data) { AppendLeafHash(LeafHash(data)); }

void MerkleBuilder::AppendData(std::string_view data) { AppendData(AsBytes(data)); }

Hash MerkleBuilder::Root() const {
  if (range_.empty()) return EmptyTreeRoot();
  Hash h = range_.back();
  for (size_t i = range_.size() - 1; i-- > 0;) h = NodeHash(range_[i], h);
  return h;
}

}  // namespace aftune
