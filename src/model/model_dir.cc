#include "model/model_dir.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <tuple>

#include "base/file.h"
#include "model/safetensors.h"
#include "model/weight_files.h"

namespace aftune {

Result<DType> StorageDType(const ModelConfig& cfg) {
  if (cfg.torch_dtype == "float32") return DType::kF32;
  if (cfg.torch_dtype == "bfloat16") return DType::kBF16;
  if (cfg.torch_dtype == "float16") return DType::kF16;
  return Status::InvalidArgument("torch_dtype '" + cfg.torch_dtype + "' is not supported");
}

namespace {
// Whether the entry's bytes can be read in place as its elements: aligned to
// the element size (safetensors does not promise it; writers usually align).
bool AlignedForView(const SafetensorsEntry& e) {
  static_assert(std::endian::native == std::endian::little, "the files are little-endian");
  return reinterpret_cast<uintptr_t>(e.bytes.data()) % static_cast<uintptr_t>(DTypeSize(e.dtype)) == 0;
}
}  // namespace

Result<LoadedModel> LoadModelDir(const std::string& dir, LayerSpan span) {
  LoadedModel m;
  AFTUNE_ASSIGN_OR_RETURN(m.config, ReadModelConfig(dir + "/config.json"));
  if (span.end < 0) span = WholeModel(m.config);
  if (span.begin < 0 || span.begin >= span.end || span.end > m.config.num_hidden_layers)
    return Status::InvalidArgument(dir + ": layer span [" + std::to_string(span.begin) + ", " +
                                   std::to_string(span.end) + ") is outside the model's " +
                                   std::to_string(m.config.num_hidden_layers) + " layers");
  AFTUNE_ASSIGN_OR_RETURN(WeightFiles opened, WeightFiles::Open(dir));
  auto files = std::make_unique<const WeightFiles>(std::move(opened));
  std::map<std::string, CheckpointTensor> inventory;
  for (const WeightFiles::Tensor& t : files->tensors()) inventory[t.entry->name] = {t.file->source(), t.entry->shape};
  AFTUNE_RETURN_IF_ERROR(CheckCheckpointTensors(m.config, inventory, files->listing_path()));
  m.copies = std::make_unique<TensorMap>();
  for (const auto& [name, shape] : BaseTensorShapes(m.config, span)) {
    const WeightFiles::Tensor t = files->Find(name);
    const SafetensorsEntry& e = *t.entry;
    if (!IsFloatStorage(e.dtype) || !AlignedForView(e)) {
      // ToF32 names the file and tensor when the dtype is not float storage.
      AFTUNE_ASSIGN_OR_RETURN(Tensor value, t.file->ToF32(e));
      const Tensor& copy = m.copies->emplace(name, std::move(value)).first->second;
      m.params.emplace(name, WeightView{DType::kF32, copy.shape(), copy.data()});
    } else {
      m.params.emplace(name, WeightView{e.dtype, e.shape, e.bytes.data()});
    }
  }
  m.files = std::move(files);
  return m;
}

TensorMap LoadedModel::ToF32() const {
  TensorMap out;
  for (const auto& [name, view] : params) out.emplace(name, Widened(view));
  return out;
}

Result<LoadedModel> LoadModelDir(const std::string& dir) { return LoadModelDir(dir, LayerSpan{0, -1}); }

namespace {
// (group, layer, name): the embedding first, then the layers in order, then
// the rest.
std::tuple<int, int64_t, const std::string&> LayerOrderKey(const std::string& name) {
  if (name == EmbeddingName()) return {0, 0, name};
  if (std::optional<int64_t> layer = LayerOfTensor(name)) return {1, *layer, name};
  return {2, 0, name};
}
}  // namespace

Status WriteModelDir(const std::string& dir, const ModelConfig& config, std::vector<TensorSource> tensors,
                     uint64_t max_shard_bytes) {
  AFTUNE_RETURN_IF_ERROR(config.Validate());
  AFTUNE_RETURN_IF_ERROR(MakeDirs(dir));
  std::sort(tensors.begin(), tensors.end(), [](const TensorSource& a, const TensorSource& b) {
    return LayerOrderKey(a.name) < LayerOrderKey(b.name);
  });
  AFTUNE_RETURN_IF_ERROR(WriteWeightFiles(dir, tensors, max_shard_bytes, {{"format", "pt"}}));
  return WriteFileAtomic(dir + "/config.json", ModelConfigToJson(config));
}

Status SaveModelDir(const std::string& dir, const ModelConfig& config, const TensorMap& params,
                    uint64_t max_shard_bytes) {
  AFTUNE_ASSIGN_OR_RETURN(DType storage, StorageDType(config));
  std::vector<TensorSource> sources;
  for (const auto& [name, t] : params) {
    const Tensor* tensor = &t;
    sources.push_back({name, storage, t.shape(), [tensor](int64_t first, int64_t count, float* out) {
                         std::memcpy(out, tensor->data() + first, static_cast<size_t>(count) * sizeof(float));
                       }});
  }
  return WriteModelDir(dir, config, std::move(sources), max_shard_bytes);
}

}  // namespace aftune
