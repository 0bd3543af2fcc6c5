// Writing a model's weights in transformers' layout, one tensor at a time.
//
// The tensors are cut into shards of at most max_shard_bytes of tensor data
// as huggingface_hub's split_torch_state_dict_into_shards does (transformers'
// save_pretrained; default "5GB" = 5 * 10^9 bytes): walking the tensors in
// order, a tensor larger than the limit gets a shard of its own, otherwise it
// closes the current shard when it would overflow it. One shard is written as
// DIR/model.safetensors; n > 1 as DIR/model-0000i-of-0000n.safetensors
// (1-based, 5 digits) plus DIR/model.safetensors.index.json
// (safetensors_index.h). Each file is canonical (safetensors.cc).
//
// Memory: values are produced and encoded in chunks of kWriteChunk elements,
// so writing never holds more than a chunk of any tensor: an 8B model can be
// written on a machine that could not hold it.
//
// Crash safety: every file appears only complete (AtomicFileWriter). A stale
// file of the other layout (the index, or model.safetensors) is removed
// first, the index is written last and shards of an earlier, larger layout
// are removed after it, so a directory interrupted mid-write has no index and
// no model.safetensors and does not open (weight_files.h) rather than open as
// a mix of old and new.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "base/status.h"
#include "tensor/dtype.h"

namespace aftune {

inline constexpr uint64_t kDefaultMaxShardBytes = 5'000'000'000;
inline constexpr int64_t kWriteChunk = int64_t{1} << 20;

// A tensor to write and where its values come from.
struct TensorSource {
  std::string name;
  DType dtype = DType::kF32;  // stored as: F32, BF16 or F16 (rounded to nearest even)
  std::vector<int64_t> shape;
  // Writes elements [first, first + count) of the row-major tensor, as f32,
  // to out. Called with ascending, adjacent ranges of at most kWriteChunk.
  std::function<void(int64_t first, int64_t count, float* out)> values;
};

// Writes `tensors` (in that order; the order decides the shards) into `dir`,
// which must exist, with `metadata` in every file's header.
// InvalidArgument for a non-float dtype, a repeated or invalid name or shape;
// IOError naming the file.
Status WriteWeightFiles(const std::string& dir, const std::vector<TensorSource>& tensors,
                        uint64_t max_shard_bytes, const std::map<std::string, std::string>& metadata);

// Shard i's file name for n shards ("model.safetensors" when n == 1).
std::string ShardFileName(int64_t i, int64_t n);

}  // namespace aftune
