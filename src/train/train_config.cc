#include "train/train_config.h"

#include <cmath>
#include <functional>
#include <map>

#include <nlohmann/json.hpp>

#include "base/file.h"

namespace aftune {

AdamWConfig TrainConfig::adamw() const {
  AdamWConfig a;
  a.beta1 = adam_beta1;
  a.beta2 = adam_beta2;
  a.eps = adam_epsilon;
  a.weight_decay = weight_decay;
  return a;
}

namespace {

using Json = nlohmann::json;

Status Bad(const std::string& source, const std::string& key, const std::string& what) {
  return Status::InvalidArgument(source + ": '" + key + "' " + what);
}

Status GetInt(const Json& v, const std::string& source, const std::string& key, int64_t lo, int64_t* out) {
  if (!v.is_number_integer()) return Bad(source, key, "must be an integer");
  int64_t x = v.get<int64_t>();
  if (x < lo) return Bad(source, key, "must be >= " + std::to_string(lo) + ", got " + std::to_string(x));
  *out = x;
  return Status::Ok();
}

Status GetDouble(const Json& v, const std::string& source, const std::string& key, double* out) {
  if (!v.is_number()) return Bad(source, key, "must be a number");
  double x = v.get<double>();
  if (!std::isfinite(x)) return Bad(source, key, "must be finite");
  *out = x;
  return Status::Ok();
}

Status GetString(const Json& v, const std::string& source, const std::string& key, std::string* out) {
  if (!v.is_string()) return Bad(source, key, "must be a string");
  *out = v.get<std::string>();
  return Status::Ok();
}

Status ParseTargets(const Json& v, const std::string& source, std::vector<Proj>* out) {
  if (!v.is_array() || v.empty()) return Bad(source, "target_modules", "must be a non-empty array of names");
  out->clear();
  for (const auto& e : v) {
    if (!e.is_string()) return Bad(source, "target_modules", "must hold strings");
    auto p = ParseProj(e.get<std::string>());
    if (!p) return Bad(source, "target_modules", "names unknown module '" + e.get<std::string>() +
                                                     "' (known: q_proj k_proj v_proj o_proj gate_proj up_proj down_proj)");
    for (Proj q : *out)
      if (q == *p) return Bad(source, "target_modules", "names '" + e.get<std::string>() + "' twice");
    out->push_back(*p);
  }
  return Status::Ok();
}

Status Validate(const TrainConfig& c, const std::string& source) {
  if (!c.full_finetune && c.lora.r < 1) return Bad(source, "r", "must be >= 1");
  if (!(c.lora.lora_alpha > 0)) return Bad(source, "lora_alpha", "must be > 0");
  if (!(c.learning_rate > 0)) return Bad(source, "learning_rate", "must be > 0");
  Status st = ValidateAdamWConfig(c.adamw());
  if (!st.ok()) return st.WithContext(source);
  if (c.max_seq_length < 2) return Bad(source, "max_seq_length", "must be >= 2");
  return Status::Ok();
}

}  // namespace

Result<TrainConfig> ParseTrainConfig(const std::string& json_text, const std::string& source) {
  Json j = Json::parse(json_text, nullptr, false);
  if (j.is_discarded()) return Status::InvalidArgument(source + ": not valid JSON");
  if (!j.is_object()) return Status::InvalidArgument(source + ": must be a JSON object");
  TrainConfig c;
  using Setter = std::function<Status(const Json&)>;
  auto integer = [&](const char* key, int64_t lo, int64_t* out) -> Setter {
    return [=, &source](const Json& v) { return GetInt(v, source, key, lo, out); };
  };
  auto number = [&](const char* key, double* out) -> Setter {
    return [=, &source](const Json& v) { return GetDouble(v, source, key, out); };
  };
  std::map<std::string, Setter> fields = {
      {"base_model", [&](const Json& v) { return GetString(v, source, "base_model", &c.base_model); }},
      {"method",
       [&](const Json& v) -> Status {
         std::string m;
         AFTUNE_RETURN_IF_ERROR(GetString(v, source, "method", &m));
         if (m != "lora" && m != "full") return Bad(source, "method", "must be \"lora\" or \"full\", got \"" + m + "\"");
         c.full_finetune = m == "full";
         return Status::Ok();
       }},
      {"r", integer("r", 1, &c.lora.r)},
      {"lora_alpha", number("lora_alpha", &c.lora.lora_alpha)},
      {"target_modules", [&](const Json& v) { return ParseTargets(v, source, &c.lora.target_modules); }},
      {"learning_rate", number("learning_rate", &c.learning_rate)},
      {"weight_decay", number("weight_decay", &c.weight_decay)},
      {"adam_beta1", number("adam_beta1", &c.adam_beta1)},
      {"adam_beta2", number("adam_beta2", &c.adam_beta2)},
      {"adam_epsilon", number("adam_epsilon", &c.adam_epsilon)},
      {"max_grad_norm", number("max_grad_norm", &c.max_grad_norm)},
      {"lr_scheduler_type",
       [&](const Json& v) -> Status {
         std::string s;
         AFTUNE_RETURN_IF_ERROR(GetString(v, source, "lr_scheduler_type", &s));
         auto t = ParseLrSchedule(s);
         if (!t.ok()) return t.status().WithContext(source + ": 'lr_scheduler_type'");
         c.lr_scheduler_type = *t;
         return Status::Ok();
       }},
      {"warmup_steps", integer("warmup_steps", 0, &c.warmup_steps)},
      {"num_train_epochs", integer("num_train_epochs", 1, &c.num_train_epochs)},
      {"max_steps", integer("max_steps", -1, &c.max_steps)},
      {"per_device_train_batch_size", integer("per_device_train_batch_size", 1, &c.per_device_train_batch_size)},
      {"gradient_accumulation_steps", integer("gradient_accumulation_steps", 1, &c.gradient_accumulation_steps)},
      {"max_seq_length", integer("max_seq_length", 2, &c.max_seq_length)},
      {"overflow",
       [&](const Json& v) -> Status {
         std::string s;
         AFTUNE_RETURN_IF_ERROR(GetString(v, source, "overflow", &s));
         auto p = ParseOverflowPolicy(s);
         if (!p.ok()) return p.status().WithContext(source + ": 'overflow'");
         c.overflow = *p;
         return Status::Ok();
       }},
      {"seed",
       [&](const Json& v) -> Status {
         if (!v.is_number_unsigned()) return Bad(source, "seed", "must be a non-negative integer");
         c.seed = v.get<uint64_t>();
         return Status::Ok();
       }},
      {"save_steps", integer("save_steps", 0, &c.save_steps)},
      {"logging_steps", integer("logging_steps", 1, &c.logging_steps)},
      {"layers_per_block", integer("layers_per_block", 0, &c.layers_per_block)},
  };
  for (const auto& [key, value] : j.items()) {
    auto it = fields.find(key);
    if (it == fields.end()) return Status::InvalidArgument(source + ": unknown key '" + key + "'");
    AFTUNE_RETURN_IF_ERROR(it->second(value));
  }
  c.lora.r = c.full_finetune ? 0 : c.lora.r;
  AFTUNE_RETURN_IF_ERROR(Validate(c, source));
  return c;
}

Result<TrainConfig> ReadTrainConfig(const std::string& path) {
  AFTUNE_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return ParseTrainConfig(text, path);
}

std::string TrainConfigToJson(const TrainConfig& c) {
  Json j;
  j["base_model"] = c.base_model;
  j["method"] = c.full_finetune ? "full" : "lora";
  if (!c.full_finetune) {
    j["r"] = c.lora.r;
    j["lora_alpha"] = c.lora.lora_alpha;
    Json targets = Json::array();
    for (Proj p : c.lora.target_modules) targets.push_back(ProjName(p));
    j["target_modules"] = targets;
  }
  j["learning_rate"] = c.learning_rate;
  j["weight_decay"] = c.weight_decay;
  j["adam_beta1"] = c.adam_beta1;
  j["adam_beta2"] = c.adam_beta2;
  j["adam_epsilon"] = c.adam_epsilon;
  j["max_grad_norm"] = c.max_grad_norm;
  j["lr_scheduler_type"] = LrScheduleName(c.lr_scheduler_type);
  j["warmup_steps"] = c.warmup_steps;
  j["num_train_epochs"] = c.num_train_epochs;
  j["max_steps"] = c.max_steps;
  j["per_device_train_batch_size"] = c.per_device_train_batch_size;
  j["gradient_accumulation_steps"] = c.gradient_accumulation_steps;
  j["max_seq_length"] = c.max_seq_length;
  j["overflow"] = std::string(OverflowPolicyName(c.overflow));
  j["seed"] = c.seed;
  j["save_steps"] = c.save_steps;
  j["logging_steps"] = c.logging_steps;
  j["layers_per_block"] = c.layers_per_block;
  return j.dump();
}

}  // namespace aftune
