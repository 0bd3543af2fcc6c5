// model.safetensors.index.json: which shard file holds each tensor of a
// sharded checkpoint. The format, the strict checks and the canonical form are
// specified at the top of safetensors_index.cc.
//
// Trust: the index comes from outside. ParseSafetensorsIndex accepts it only
// when it is well formed, names every tensor once and names only plain file
// names (never a path), so no index can make aftune open a file outside the
// model directory. Whether the shards agree with it is checked by WeightFiles.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace aftune {

inline constexpr char kSafetensorsIndexName[] = "model.safetensors.index.json";
// The largest index accepted, in bytes.
inline constexpr uint64_t kSafetensorsIndexMaxBytes = 100'000'000;

struct SafetensorsIndex {
  // Tensor name -> shard file name (relative to the model directory).
  std::map<std::string, std::string> weight_map;
  // metadata.total_size: the bytes of every tensor's data (not of the files).
  std::optional<uint64_t> total_size;

  // The distinct shard file names, sorted.
  std::vector<std::string> Shards() const;
};

// Parses the index's text. Corruption naming `source` and the key, tensor or
// file name at fault.
Result<SafetensorsIndex> ParseSafetensorsIndex(std::string_view text, const std::string& source);

// The canonical text (keys sorted, 2-space indent, trailing newline: what
// transformers' save_pretrained writes for ASCII names).
// REQUIRES: every name and file name valid UTF-8.
std::string SafetensorsIndexToJson(const SafetensorsIndex& index);

// Whether `name` may be a shard: a plain file name ending in ".safetensors",
// no '/' or '\', not starting with '.', printable ASCII, at most 255 bytes.
bool IsShardFileName(std::string_view name);

}  // namespace aftune
