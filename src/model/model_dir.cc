#include "model/model_dir.h"

#include "base/file.h"
#include "model/safetensors.h"

namespace aftune {

namespace {
Result<DType> StorageDType(const ModelConfig& cfg) {
  if (cfg.torch_dtype == "float32") return DType::kF32;
  if (cfg.torch_dtype == "bfloat16") return DType::kBF16;
  if (cfg.torch_dtype == "float16") return DType::kF16;
  return Status::InvalidArgument("torch_dtype '" + cfg.torch_dtype + "' is not supported");
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
  const std::string path = dir + "/model.safetensors";
  AFTUNE_ASSIGN_OR_RETURN(SafetensorsFile file, SafetensorsFile::Read(path));
  std::map<std::string, CheckpointTensor> inventory;
  for (const SafetensorsEntry& e : file.entries()) inventory[e.name] = {path, e.shape};
  AFTUNE_RETURN_IF_ERROR(CheckCheckpointTensors(m.config, inventory, path));
  for (const auto& [name, shape] : BaseTensorShapes(m.config, span)) {
    AFTUNE_ASSIGN_OR_RETURN(Tensor t, file.ToF32(*file.Find(name)));
    m.params.emplace(name, std::move(t));
  }
  return m;
}

Result<LoadedModel> LoadModelDir(const std::string& dir) { return LoadModelDir(dir, LayerSpan{0, -1}); }

Status SaveModelDir(const std::string& dir, const ModelConfig& config, const TensorMap& params) {
  AFTUNE_RETURN_IF_ERROR(config.Validate());
  AFTUNE_ASSIGN_OR_RETURN(DType storage, StorageDType(config));
  AFTUNE_RETURN_IF_ERROR(MakeDirs(dir));
  AFTUNE_RETURN_IF_ERROR(WriteSafetensors(dir + "/model.safetensors", params, storage, {{"format", "pt"}}));
  return WriteFileAtomic(dir + "/config.json", ModelConfigToJson(config));
}

}  // namespace aftune
