// Tensor, state and dataset digests (DESIGN.md "Wire formats, v1"; spelled
// out with worked examples in docs/formats.md and tests/vectors/digest.json).
//
// Tensor digest. The tensor's bytes (stored dtype, little-endian, row-major,
// contiguous) are cut into 64 KiB chunks, the last possibly shorter; an
// empty tensor has no chunks. chunks = MerkleRoot(LeafHash(chunk_i)), i.e.
// SHA-256("") for an empty tensor. Then
//
//   tensor_digest = SHA-256(0x02 ‖ u32 len(name) ‖ name ‖ u32 len(dtype) ‖
//                           dtype ‖ u32 ndim ‖ u64 dim[0] … u64 dim[ndim-1] ‖
//                           chunks)
//
// all integers little-endian, name and dtype as raw bytes (dtype spelled as
// in safetensors: "F32", "BF16", …). A scalar has ndim 0 and one element.
// The leading 0x02 keeps tensor digests apart from Merkle leaves (0x00) and
// nodes (0x01).
//
// State digest. MerkleRoot over the tensor digests as leaf data (each leaf
// hash is SHA-256(0x00 ‖ tensor_digest)), tensors ordered by name, bytewise
// ascending. Names must be distinct. An empty state is SHA-256("").
//
// Dataset digest. MerkleRoot over the file's non-empty lines as leaf data,
// in file order, the lines cut by the one dataset line rule
// (base/dataset_lines.h): LF separates, a CR right before an LF is part of
// the ending, empty lines are skipped, a whitespace-only line is not empty.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "commit/compact_range.h"
#include "commit/sha256.h"

namespace aftune {

inline constexpr size_t kTensorChunkBytes = 64 * 1024;

// The digest above. `threads`: 0 picks automatically (1 for tensors up to
// 1 MiB, else $AFTUNE_THREADS or the core count, at most one per 4 chunks);
// any value gives the same digest. Chunk leaf hashes are computed in
// parallel, the tree over them after.
// REQUIRES: name, dtype and dims each shorter than 2^32 (aborts otherwise).
Hash TensorDigest(std::string_view name, std::string_view dtype, std::span<const uint64_t> dims,
                  std::span<const uint8_t> bytes, int threads = 0);

struct NamedDigest {
  std::string name;
  Hash digest;
};

// The state digest of the given tensors, in any order.
// kInvalidArgument when two tensors share a name.
Result<Hash> StateDigest(std::vector<NamedDigest> tensors);

// The non-empty lines of a dataset file, without their endings, in order
// (SplitDatasetLines without the line numbers). The views point into `file`.
std::vector<std::string_view> DatasetLines(std::string_view file);

// MerkleRoot over DatasetLines(file) as leaf data.
Hash DatasetDigest(std::string_view file);

}  // namespace aftune
