// The base slice answer of the audit HTTP API, GET <run>/base/block/<L>
// (docs/formats.md, "Audit HTTP API"): the base tensors layer-block L
// re-executes, as stored, each with the inclusion proof of its tensor digest
// in the tree of the base's state digest.
//
// Format: a canonical safetensors file (model/safetensors.h) holding
//   tensors       exactly BaseTensorShapes(config, layers of block L): the
//                 layers' tensors, the embedding for the first block, the
//                 final norm and the head (the embedding, when tied) for the
//                 last; each as the base's weight files store it (dtype F32,
//                 BF16 or F16, shape, bytes), by name, contiguous
//   __metadata__  exactly these keys:
//     "format"          "aftune base slice v1"
//     "tensors"         n, the number of tensors of the whole base (the
//                       leaves of its state digest's tree), decimal
//     "proof.<name>"    one per tensor: its leaf index i (its position among
//                       the base's n tensors ordered by name, bytewise), then
//                       for each hash of its inclusion path PATH(i, D[n])
//                       (RFC 6962, leaves upward) a space and the hash as 64
//                       lowercase hex; decimals without leading zeros
//
// Example: a base of three tensors a, b, c (leaves d_a, d_b, d_c, their
// tensor digests) answering a slice holding b: "tensors" "3", "proof.b"
// "1 <hex LeafHash(d_a)> <hex LeafHash(d_c)>".
//
// The auditor proves each tensor: TensorDigest(name, dtype, shape, bytes) at
// leaf i of n under the contract's base state digest. A valid proof shows
// that the base holds exactly this tensor under this name (tensor digests
// bind name, dtype, shape and bytes; leaves and nodes hash apart), whatever
// n the answer claims.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "model/config.h"
#include "model/safetensors.h"
#include "protocol/base_source.h"

namespace aftune {

inline constexpr std::string_view kBaseSliceFormat = "aftune base slice v1";

// One tensor of a slice answer, described without its bytes.
struct SliceTensorInfo {
  SafetensorsTensorInfo tensor;
  SliceProof proof;
};

// The start of the answer: the 8-byte header length and the header. The
// tensors' bytes follow it in the order given, contiguous (the provider
// streams them from its weight files). REQUIRES: every proof's index <
// tree_size. InvalidArgument when the names are not strictly ascending, or
// as SafetensorsPrefix.
Result<std::string> BaseSliceAnswerPrefix(const std::vector<SliceTensorInfo>& sorted, uint64_t tree_size);

// Parses an answer strictly, checking form only (the auditor checks the
// content): safetensors as model/safetensors.h reads it, float storage
// dtypes, exactly the metadata above, a proof for every tensor and none for
// another, each index below "tensors", each path at most 64 hashes.
// kCorruption naming `source` and the entry. The slice's views point into
// `bytes` (taken over), or into a copy for a tensor not aligned to its
// element size (the same bytes).
Result<BaseSlice> ParseBaseSliceAnswer(std::string bytes, const std::string& source);

// The most bytes an answer for `layers` of `config` can hold: every tensor
// of BaseTensorShapes at 4 bytes an element, and a header of at most 8 KiB a
// tensor and 4 KiB more (an auditor's cap on the answer).
uint64_t MaxBaseSliceAnswerBytes(const ModelConfig& config, LayerSpan layers);

}  // namespace aftune
