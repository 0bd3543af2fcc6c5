#include "train/checkpoint.h"

#include <map>

#include "base/file.h"
#include "model/safetensors.h"

namespace aftune {

namespace {

constexpr char kFormat[] = "aftune training checkpoint v1";

std::map<std::string, std::string> Metadata(const Trainer& trainer, const std::string& identity) {
  return {{"format", kFormat}, {"next_step", std::to_string(trainer.next_step())}, {"identity", identity}};
}

}  // namespace

Status SaveCheckpoint(const std::string& path, const Trainer& trainer, const std::string& identity) {
  TensorMap all = trainer.trainable();
  for (const auto& [name, t] : trainer.optimizer().state()) all.emplace(name, t);
  return WriteSafetensors(path, all, DType::kF32, Metadata(trainer, identity));
}

Status SaveCheckpointRef(const std::string& path, const Trainer& trainer, const std::string& identity,
                         const std::string& tensors_ref) {
  auto meta = Metadata(trainer, identity);
  meta["tensors"] = tensors_ref;
  return WriteSafetensors(path, TensorMap(), DType::kF32, meta);
}

Status ResumeFromCheckpoint(const std::string& path, const std::string& identity, Trainer* trainer,
                            const CheckpointTensorLoader& load) {
  if (!FileExists(path)) return Status::NotFound(path + ": no checkpoint");
  AFTUNE_ASSIGN_OR_RETURN(SafetensorsFile file, SafetensorsFile::Read(path));
  const auto& meta = file.metadata();
  auto get = [&](const char* key) -> std::string {
    auto it = meta.find(key);
    return it == meta.end() ? std::string() : it->second;
  };
  if (get("format") != kFormat) return Status::Corruption(path + ": not an aftune training checkpoint");
  if (get("identity") != identity)
    return Status::InvalidArgument(path + ": belongs to another training configuration or dataset; "
                                          "remove it or use another --out directory");
  const std::string step_text = get("next_step");
  char* end = nullptr;
  long long step = std::strtoll(step_text.c_str(), &end, 10);
  if (step_text.empty() || *end != '\0' || step < 0)
    return Status::Corruption(path + ": next_step '" + step_text + "' is not a step number");
  TensorMap all;
  if (meta.count("tensors")) {
    if (!load) return Status::Corruption(path + ": its tensors are kept elsewhere ('" + get("tensors") + "')");
    Result<TensorMap> loaded = load(get("tensors"));
    if (!loaded.ok()) return loaded.status().WithContext(path);
    all = std::move(loaded).value();
  } else {
    AFTUNE_ASSIGN_OR_RETURN(all, file.AllF32());
  }
  TensorMap trainable, state;
  for (auto& [name, t] : all) {
    if (trainer->trainable().count(name)) trainable.emplace(name, std::move(t));
    else state.emplace(name, std::move(t));
  }
  return trainer->Restore(std::move(trainable), std::move(state), step).WithContext(path);
}

}  // namespace aftune
