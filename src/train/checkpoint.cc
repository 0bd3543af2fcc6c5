#include "train/checkpoint.h"

#include "base/file.h"
#include "model/safetensors.h"

namespace aftune {

namespace {
constexpr char kFormat[] = "aftune training checkpoint v1";
}  // namespace

Status SaveCheckpoint(const std::string& path, const Trainer& trainer, const std::string& identity) {
  TensorMap all = trainer.trainable();
  for (const auto& [name, t] : trainer.optimizer().state()) all.emplace(name, t);
  return WriteSafetensors(path, all, DType::kF32,
                          {{"format", kFormat},
                           {"next_step", std::to_string(trainer.next_step())},
                           {"identity", identity}});
}

Status ResumeFromCheckpoint(const std::string& path, const std::string& identity, Trainer* trainer) {
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
  AFTUNE_ASSIGN_OR_RETURN(TensorMap all, file.AllF32());
  TensorMap trainable, state;
  for (auto& [name, t] : all) {
    if (trainer->trainable().count(name)) trainable.emplace(name, std::move(t));
    else state.emplace(name, std::move(t));
  }
  return trainer->Restore(std::move(trainable), std::move(state), step).WithContext(path);
}

}  // namespace aftune
