#include "model/weight_files.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>

#include "base/file.h"
#include "model/safetensors_index.h"

namespace aftune {

WeightMap ViewsOf(const TensorMap& tensors) {
  WeightMap out;
  for (const auto& [name, t] : tensors) out.emplace(name, WeightView{DType::kF32, t.shape(), t.data()});
  return out;
}

Tensor Widened(const WeightView& view) {
  Tensor t(view.shape);
  const size_t n = static_cast<size_t>(t.numel());
  float* out = t.data();
  const auto* h = static_cast<const uint16_t*>(view.data);
  switch (view.dtype) {
    case DType::kF32: std::memcpy(out, view.data, n * sizeof(float)); break;
    case DType::kBF16: for (size_t i = 0; i < n; ++i) out[i] = BF16ToF32(h[i]); break;
    case DType::kF16: for (size_t i = 0; i < n; ++i) out[i] = F16ToF32(h[i]); break;
    default: AFTUNE_CHECK(false);
  }
  return t;
}

void WeightFiles::IndexTensors() {
  tensors_.clear();
  for (const SafetensorsFile& f : files_)
    for (const SafetensorsEntry& e : f.entries()) tensors_.push_back({&e, &f});
  std::sort(tensors_.begin(), tensors_.end(), [](const Tensor& a, const Tensor& b) { return a.entry->name < b.entry->name; });
}

Result<WeightFiles> WeightFiles::Open(const std::string& dir) {
  const std::string single = dir + "/" + kSingleWeightsName;
  const std::string index_path = dir + "/" + kSafetensorsIndexName;
  const bool has_single = FileExists(single), has_index = FileExists(index_path);
  if (has_single && has_index)
    return Status::InvalidArgument(dir + ": holds both " + kSingleWeightsName + " and " + kSafetensorsIndexName +
                                   "; which one is the model is ambiguous (remove the stale one)");
  WeightFiles w;
  if (!has_index) {
    if (!has_single)
      return Status::NotFound(dir + ": no " + std::string(kSingleWeightsName) + " and no " + kSafetensorsIndexName);
    AFTUNE_ASSIGN_OR_RETURN(SafetensorsFile f, SafetensorsFile::Read(single));
    w.files_.push_back(std::move(f));
    w.listing_path_ = single;
    w.IndexTensors();
    return w;
  }

  AFTUNE_ASSIGN_OR_RETURN(std::string text, ReadFile(index_path));
  AFTUNE_ASSIGN_OR_RETURN(SafetensorsIndex index, ParseSafetensorsIndex(text, index_path));
  const std::vector<std::string> shards = index.Shards();
  w.files_.reserve(shards.size());
  for (const std::string& name : shards) {
    Result<SafetensorsFile> f = SafetensorsFile::Read(dir + "/" + name);
    if (!f.ok()) {
      if (f.status().code() == Status::Code::kNotFound)
        return Status::NotFound(dir + "/" + name + ": no such file, but " + kSafetensorsIndexName + " lists it");
      return f.status();
    }
    w.files_.push_back(std::move(*f));
  }
  w.sharded_ = true;
  w.listing_path_ = index_path;
  w.IndexTensors();

  // Every tensor of every shard: once, and where the index says.
  for (size_t i = 0; i < w.tensors_.size(); ++i) {
    const Tensor& t = w.tensors_[i];
    const std::string& name = t.entry->name;
    if (i > 0 && w.tensors_[i - 1].entry->name == name)
      return Status::Corruption(index_path + ": tensor " + QuoteName(name) + " is in both " +
                                w.tensors_[i - 1].file->source() + " and " + t.file->source());
    auto it = index.weight_map.find(name);
    if (it == index.weight_map.end())
      return Status::Corruption(t.file->source() + ": tensor " + QuoteName(name) + " is not listed in " +
                                kSafetensorsIndexName);
    if (dir + "/" + it->second != t.file->source())
      return Status::Corruption(t.file->source() + ": tensor " + QuoteName(name) + " is here but " +
                                kSafetensorsIndexName + " places it in " + it->second);
  }
  // Every tensor of the index: in its shard (the loop above placed every
  // shard tensor, so a count mismatch means one is missing).
  for (const auto& [name, file] : index.weight_map) {
    if (w.Find(name).entry == nullptr)
      return Status::Corruption(dir + "/" + file + ": has no tensor " + QuoteName(name) + ", which " +
                                kSafetensorsIndexName + " places in it");
  }
  return w;
}

Result<WeightFiles> WeightFiles::OpenFileOrDir(const std::string& path) {
  if (std::filesystem::is_directory(path)) return Open(path);
  AFTUNE_ASSIGN_OR_RETURN(SafetensorsFile f, SafetensorsFile::Read(path));
  WeightFiles w;
  w.files_.push_back(std::move(f));
  w.listing_path_ = path;
  w.IndexTensors();
  return w;
}

WeightFiles::Tensor WeightFiles::Find(std::string_view name) const {
  auto it = std::lower_bound(tensors_.begin(), tensors_.end(), name,
                             [](const Tensor& t, std::string_view n) { return t.entry->name < n; });
  if (it == tensors_.end() || it->entry->name != name) return {nullptr, nullptr};
  return *it;
}

}  // namespace aftune
