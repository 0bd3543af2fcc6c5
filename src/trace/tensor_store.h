// The content-addressed store of a recorded run (RUN/store): the block states
// and boundary tensors the provider keeps (DESIGN.md, "The audit grid": full
// state every I_C step-blocks, boundary tensors every I_A steps) and those it
// regenerates by replay when challenged.
//
// An object is a canonical safetensors file of F32 tensors (model/
// safetensors.h), zstd-compressed, at
//
//   <dir>/<hex[0:2]>/<hex>.safetensors.zst
//
// where hex is the digest the trace commits to for it:
//   a block state       its state digest: StateDigest over F32TensorDigest of
//                       each tensor (protocol/trace_record.h BlockStateDigest)
//   a boundary tensor   its F32TensorDigest, the tensor named as in the trace
//                       ("activation.b<b>", "gradient.b<b>")
// So the store needs no index: the trace line names the object, and reading
// an object recomputes its digest and refuses it unless it equals the name.
// Objects are immutable; putting one that exists does nothing, which makes a
// resumed or replayed run's writes idempotent. Each is written atomically,
// compressed as it is serialized (no whole uncompressed copy is made).
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "base/status.h"
#include "commit/sha256.h"
#include "model/llama_names.h"
#include "tensor/tensor.h"

namespace aftune {

// Tensors by name, not owned: a block state written straight from the
// trainer's tensors.
using TensorRefs = std::map<std::string, const Tensor*>;
TensorRefs RefsOf(const TensorMap& tensors);

class TensorStore {
 public:
  // A store rooted at `dir` (created on the first Put).
  explicit TensorStore(std::string dir) : dir_(std::move(dir)) {}

  // Writes the object `digest` holding `tensors` (nothing when it exists).
  // REQUIRES: `digest` is the tensors' own — the state digest of a block
  // state, or F32TensorDigest(name, t) of a single tensor — computed by the
  // caller from these tensors. (trace/store_writer.h puts in the background.)
  Status Put(const Hash& digest, const TensorRefs& tensors);
  Status Put(const Hash& digest, const TensorMap& tensors) { return Put(digest, RefsOf(tensors)); }

  bool Has(const Hash& digest) const;
  // kNotFound when absent; kCorruption naming the object when it does not
  // decompress, parse, or hash to `digest`.
  Result<TensorMap> GetState(const Hash& digest) const;
  // The object's one tensor, which must be called `name`.
  Result<Tensor> GetTensor(const Hash& digest, const std::string& name) const;

  const std::string& dir() const { return dir_; }
  std::string ObjectPath(const Hash& digest) const;
  // Compressed bytes written by this object's Puts (not counting objects
  // that already existed).
  uint64_t bytes_written() const { return bytes_written_; }

 private:
  Result<TensorMap> Get(const Hash& digest) const;

  std::string dir_;
  uint64_t bytes_written_ = 0;
};

}  // namespace aftune
