#include "model/adapter_dir.h"

#include <nlohmann/json.hpp>

#include "base/file.h"
#include "base/strict_json.h"
#include "model/safetensors.h"

namespace aftune {

namespace {

using Json = nlohmann::json;

Status Unsupported(const std::string& path, const std::string& key, const std::string& why) {
  return Status::InvalidArgument(path + ": '" + key + "' " + why);
}

// Keys whose non-default values aftune does not implement, with the default.
Status CheckDefaults(const Json& j, const std::string& path) {
  const std::pair<const char*, Json> defaults[] = {
      {"bias", "none"},          {"use_rslora", false},          {"use_dora", false},
      {"fan_in_fan_out", false}, {"layers_to_transform", nullptr}, {"modules_to_save", nullptr},
  };
  for (const auto& [key, value] : defaults) {
    if (j.contains(key) && j[key] != value)
      return Unsupported(path, key, "is " + j[key].dump() + "; aftune implements only " + value.dump());
  }
  for (const char* key : {"rank_pattern", "alpha_pattern"}) {
    if (j.contains(key) && !(j[key].is_null() || (j[key].is_object() && j[key].empty())))
      return Unsupported(path, key, "is not supported (per-module ranks or alphas)");
  }
  return Status::Ok();
}

Result<LoraConfig> ParseAdapterConfig(const Json& j, const std::string& path) {
  if (!j.is_object()) return Status::Corruption(path + ": must be a JSON object");
  if (j.value("peft_type", "") != "LORA") return Unsupported(path, "peft_type", "must be \"LORA\"");
  AFTUNE_RETURN_IF_ERROR(CheckDefaults(j, path));
  LoraConfig lora;
  if (!j.contains("r") || !j["r"].is_number_integer() || j["r"].get<int64_t>() < 1)
    return Status::Corruption(path + ": 'r' must be a positive integer");
  lora.r = j["r"].get<int64_t>();
  if (!j.contains("lora_alpha") || !j["lora_alpha"].is_number() || !(j["lora_alpha"].get<double>() > 0))
    return Status::Corruption(path + ": 'lora_alpha' must be a positive number");
  lora.lora_alpha = j["lora_alpha"].get<double>();
  if (!j.contains("target_modules") || !j["target_modules"].is_array())
    return Unsupported(path, "target_modules", "must be a list of module names");
  for (const auto& m : j["target_modules"]) {
    auto p = m.is_string() ? ParseProj(m.get<std::string>()) : std::nullopt;
    if (!p) return Unsupported(path, "target_modules", "names " + m.dump() + ", not a LLaMA projection");
    if (!lora.Targets(*p)) lora.target_modules.push_back(*p);
  }
  return lora;
}

}  // namespace

Result<LoadedAdapter> LoadAdapterDir(const std::string& dir, const ModelConfig& cfg) {
  const std::string config_path = dir + "/adapter_config.json";
  AFTUNE_ASSIGN_OR_RETURN(std::string text, ReadFile(config_path));
  AFTUNE_ASSIGN_OR_RETURN(Json j, ParseStrictJson(text, config_path));
  LoadedAdapter a;
  AFTUNE_ASSIGN_OR_RETURN(a.lora, ParseAdapterConfig(j, config_path));
  if (j.contains("base_model_name_or_path") && j["base_model_name_or_path"].is_string())
    a.base_model = j["base_model_name_or_path"].get<std::string>();
  const std::string weights = dir + "/adapter_model.safetensors";
  AFTUNE_ASSIGN_OR_RETURN(TensorMap tensors, ReadSafetensorsF32(weights));
  for (const auto& [name, shape] : LoraTensorShapes(cfg, a.lora, WholeModel(cfg))) {
    auto it = tensors.find(name);
    if (it == tensors.end()) return Status::NotFound(weights + ": tensor " + name + " is missing");
    if (it->second.shape() != shape)
      return Status::Corruption(weights + ": tensor " + name + " has shape " + it->second.ShapeString() +
                                ", the configs imply " + Tensor(shape).ShapeString());
    a.tensors.emplace(name, std::move(it->second));
  }
  if (a.tensors.size() != tensors.size()) {
    for (const auto& [name, t] : tensors)
      if (!a.tensors.count(name)) return Status::Corruption(weights + ": unexpected tensor " + name);
  }
  return a;
}

Status SaveAdapterDir(const std::string& dir, const LoraConfig& lora, const std::string& base_model,
                      const TensorMap& tensors) {
  Json targets = Json::array();
  for (Proj p : lora.target_modules) targets.push_back(ProjName(p));
  Json j = {{"base_model_name_or_path", base_model},
            {"bias", "none"},
            {"fan_in_fan_out", false},
            {"inference_mode", true},
            {"init_lora_weights", true},
            {"lora_alpha", lora.lora_alpha},
            {"lora_dropout", 0.0},
            {"modules_to_save", nullptr},
            {"peft_type", "LORA"},
            {"r", lora.r},
            {"target_modules", targets},
            {"task_type", "CAUSAL_LM"},
            {"use_dora", false},
            {"use_rslora", false}};
  AFTUNE_RETURN_IF_ERROR(MakeDirs(dir));
  AFTUNE_RETURN_IF_ERROR(WriteSafetensors(dir + "/adapter_model.safetensors", tensors, DType::kF32, {{"format", "pt"}}));
  return WriteFileAtomic(dir + "/adapter_config.json", j.dump(2) + "\n");
}

}  // namespace aftune
