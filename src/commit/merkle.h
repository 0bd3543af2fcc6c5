// RFC 6962 §2.1 Merkle trees: hashes, roots, inclusion and consistency proofs.
//
// Format (RFC 6962 §2.1, restated in docs/formats.md, "Merkle trees"):
//
//   MTH({})        = SHA-256("")                          (the empty tree)
//   MTH({d0})      = SHA-256(0x00 ‖ d0)                   (a leaf)
//   MTH(D[n])      = SHA-256(0x01 ‖ MTH(D[0:k]) ‖ MTH(D[k:n]))
//                    where k is the largest power of two smaller than n.
//
// Proofs are lists of 32-byte hashes, named after the RFC: an InclusionProof
// is RFC 6962 PATH(m, D[n]) (RFC 9162 "inclusion path"), a ConsistencyProof is
// RFC 6962 PROOF(m, D[n]) = SUBPROOF(m, D[n], true). Both list hashes from the
// leaves upward (the order in which the verifier consumes them).
//
// This file holds the pure functions: the verifiers, and reference provers
// that take every leaf hash of the tree in memory (O(n) work). Provers that
// read O(log n) stored hashes live in tlog.h; streaming roots in
// compact_range.h. All three agree bit for bit (merkle_test.cc).
//
// Trust: the verifiers take proofs from outside and treat every hash in them
// as suspect; the roots and the leaf hash must come from a trusted source
// (a verified signed note, or a locally computed value).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/status.h"
#include "commit/sha256.h"

namespace aftune {

using InclusionProof = std::vector<Hash>;
using ConsistencyProof = std::vector<Hash>;

// SHA-256(""): the root of the empty tree.
Hash EmptyTreeRoot();
// SHA-256(0x00 ‖ data).
Hash LeafHash(std::span<const uint8_t> data);
// SHA-256(0x01 ‖ left ‖ right).
Hash NodeHash(const Hash& left, const Hash& right);

// The root of the tree whose leaf hashes are `leaves` (MTH above, with the
// leaf hashing already done). O(n) hashes, O(log n) stack.
Hash MerkleRoot(std::span<const Hash> leaves);

// PATH(index, D[n]) for n = leaves.size().
// REQUIRES: index < leaves.size() (aborts otherwise: a caller bug).
InclusionProof MakeInclusionProof(std::span<const Hash> leaves, uint64_t index);

// PROOF(old_size, D[n]) for n = leaves.size().
// REQUIRES: old_size <= leaves.size(). Empty when old_size is 0 or n.
ConsistencyProof MakeConsistencyProof(std::span<const Hash> leaves, uint64_t old_size);

// The root implied by `leaf` sitting at `index` of a tree of `size` leaves
// with inclusion path `proof` (RFC 9162 §2.1.3.2, steps 1-4).
// kCorruption when index >= size or the proof has the wrong length for
// (index, size).
Result<Hash> RootFromInclusionProof(uint64_t index, uint64_t size, const Hash& leaf,
                                    std::span<const Hash> proof);

// Ok when `proof` shows `leaf` at `index` in the tree of `size` leaves with
// root `root`. kCorruption for a malformed proof (wrong length, index out of
// range), kMismatch when the computed root differs from `root`.
Status VerifyInclusion(uint64_t index, uint64_t size, const Hash& leaf, std::span<const Hash> proof,
                       const Hash& root);

// Ok when `proof` shows that the tree of `old_size` leaves with root
// `old_root` is a prefix of the tree of `new_size` leaves with root
// `new_root` (RFC 9162 §2.1.4.2). Rules beyond the RFC's algorithm:
//   old_size > new_size                 kInvalidArgument
//   old_size == new_size                proof must be empty, roots equal
//   old_size == 0                       proof must be empty and old_root
//                                       must be the empty-tree root
// kCorruption for a proof of the wrong length, kMismatch when a root differs.
Status VerifyConsistency(uint64_t old_size, uint64_t new_size, const Hash& old_root, const Hash& new_root,
                         std::span<const Hash> proof);

// Largest power of two strictly smaller than n. REQUIRES: n >= 2.
uint64_t SplitPoint(uint64_t n);

}  // namespace aftune
