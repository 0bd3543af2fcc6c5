#include "model/weight_writer.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <regex>

#include "base/atomic_file.h"
#include "base/file.h"
#include "model/safetensors.h"
#include "model/safetensors_index.h"
#include "model/weight_files.h"

namespace aftune {

namespace {

uint64_t DataBytes(const TensorSource& t) {
  return static_cast<uint64_t>(NumElements(t.shape)) * static_cast<uint64_t>(DTypeSize(t.dtype));
}

// Indices into `tensors`, one list per shard (huggingface_hub's rule).
std::vector<std::vector<size_t>> PlanShards(const std::vector<TensorSource>& tensors, uint64_t max_bytes) {
  std::vector<std::vector<size_t>> shards;
  std::vector<size_t> current;
  uint64_t current_bytes = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const uint64_t bytes = DataBytes(tensors[i]);
    if (bytes > max_bytes) {
      shards.push_back({i});
      continue;
    }
    if (current_bytes + bytes > max_bytes) {
      shards.push_back(std::move(current));
      current.clear();
      current_bytes = 0;
    }
    current.push_back(i);
    current_bytes += bytes;
  }
  if (!current.empty() || shards.empty()) shards.push_back(std::move(current));
  return shards;
}

// Writes one canonical safetensors file holding tensors[shard[*]].
Status WriteShard(const std::string& path, const std::vector<TensorSource>& tensors, std::vector<size_t> shard,
                  const std::map<std::string, std::string>& metadata) {
  std::sort(shard.begin(), shard.end(), [&](size_t a, size_t b) { return tensors[a].name < tensors[b].name; });
  std::vector<SafetensorsTensorInfo> infos;
  for (size_t i : shard) infos.push_back({tensors[i].name, tensors[i].dtype, tensors[i].shape});
  Result<std::string> prefix = SafetensorsPrefix(infos, metadata);
  if (!prefix.ok()) return prefix.status().WithContext(path);
  AFTUNE_ASSIGN_OR_RETURN(AtomicFileWriter out, AtomicFileWriter::Create(path));
  AFTUNE_RETURN_IF_ERROR(out.Append(*prefix));
  std::vector<float> values;
  std::string encoded;
  for (size_t i : shard) {
    const TensorSource& t = tensors[i];
    const int64_t n = NumElements(t.shape);
    for (int64_t first = 0; first < n; first += kWriteChunk) {
      const int64_t count = std::min(kWriteChunk, n - first);
      values.resize(static_cast<size_t>(count));
      t.values(first, count, values.data());
      encoded.resize(static_cast<size_t>(count) * static_cast<size_t>(DTypeSize(t.dtype)));
      EncodeFloats(values.data(), static_cast<size_t>(count), t.dtype, encoded.data());
      AFTUNE_RETURN_IF_ERROR(out.Append(encoded));
    }
  }
  return out.Commit();
}

Status RemoveIfPresent(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT)
    return Status::IOError(path + ": cannot remove a stale file: " + std::strerror(errno));
  return Status::Ok();
}

// Removes DIR/model-*-of-*.safetensors files that are not among `keep`.
Status RemoveStaleShards(const std::string& dir, const std::vector<std::string>& keep) {
  static const std::regex kShard("model-[0-9]{5}-of-[0-9]{5}\\.safetensors");
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (std::regex_match(name, kShard) && std::find(keep.begin(), keep.end(), name) == keep.end())
      AFTUNE_RETURN_IF_ERROR(RemoveIfPresent(dir + "/" + name));
  }
  if (ec) return Status::IOError(dir + ": cannot list: " + ec.message());
  return Status::Ok();
}

}  // namespace

std::string ShardFileName(int64_t i, int64_t n) {
  if (n == 1) return kSingleWeightsName;
  char name[64];
  std::snprintf(name, sizeof name, "model-%05lld-of-%05lld.safetensors", static_cast<long long>(i + 1),
                static_cast<long long>(n));
  return name;
}

Status WriteWeightFiles(const std::string& dir, const std::vector<TensorSource>& tensors,
                        uint64_t max_shard_bytes, const std::map<std::string, std::string>& metadata) {
  std::vector<std::string> sorted;
  for (const TensorSource& t : tensors) {
    if (!IsFloatStorage(t.dtype))
      return Status::InvalidArgument("tensor " + QuoteName(t.name) + ": cannot store floats as " +
                                     std::string(DTypeName(t.dtype)));
    sorted.push_back(t.name);
  }
  std::sort(sorted.begin(), sorted.end());
  if (auto dup = std::adjacent_find(sorted.begin(), sorted.end()); dup != sorted.end())
    return Status::InvalidArgument("two tensors are called " + QuoteName(*dup));
  const std::vector<std::vector<size_t>> shards = PlanShards(tensors, max_shard_bytes);
  const int64_t n = static_cast<int64_t>(shards.size());
  AFTUNE_RETURN_IF_ERROR(RemoveIfPresent(dir + "/" + (n == 1 ? kSafetensorsIndexName : kSingleWeightsName)));
  if (n > 1) AFTUNE_RETURN_IF_ERROR(RemoveIfPresent(dir + "/" + kSafetensorsIndexName));
  SafetensorsIndex index;
  uint64_t total = 0;
  std::vector<std::string> names;
  for (int64_t s = 0; s < n; ++s) {
    const std::string name = ShardFileName(s, n);
    names.push_back(name);
    AFTUNE_RETURN_IF_ERROR(WriteShard(dir + "/" + name, tensors, shards[static_cast<size_t>(s)], metadata));
    for (size_t i : shards[static_cast<size_t>(s)]) {
      index.weight_map[tensors[i].name] = name;
      total += DataBytes(tensors[i]);
    }
  }
  if (n > 1) {
    index.total_size = total;
    AFTUNE_RETURN_IF_ERROR(WriteFileAtomic(dir + "/" + kSafetensorsIndexName, SafetensorsIndexToJson(index)));
  }
  return RemoveStaleShards(dir, names);
}

}  // namespace aftune
