#include "train/train_config.h"

#include <nlohmann/json.hpp>

#include "base/file.h"
#include "base/strict_json.h"
#include "train/training_terms.h"

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

Status InSource(const std::string& source, const Status& st) {
  return Status::InvalidArgument(source + ": " + st.message());
}

}  // namespace

Result<TrainConfig> ParseTrainConfig(const std::string& json_text, const std::string& source) {
  // The strict reader: a key given twice (which of two learning rates?) is
  // refused, as are NUL bytes, deep nesting and trailing bytes.
  StrictJsonOptions strict;
  strict.code = Status::Code::kInvalidArgument;
  AFTUNE_ASSIGN_OR_RETURN(Json j, ParseStrictJson(json_text, source, strict));
  if (!j.is_object()) return Status::InvalidArgument(source + ": must be a JSON object");
  TrainConfig c;
  // The method first: it says which terms apply.
  if (auto m = j.find("method"); m != j.end()) {
    Status st = SetTermFromJson(*FindTrainingTerm("method"), *m, "method", &c);
    if (!st.ok()) return InSource(source, st);
  }
  for (const auto& [key, value] : j.items()) {
    const TrainingTerm* term = FindTrainingTerm(key);
    if (term == nullptr) return Status::InvalidArgument(source + ": unknown key '" + key + "'");
    if (!TermApplies(*term, c))
      return Status::InvalidArgument(source + ": '" + key + "' does not apply to method \"full\"");
    Status st = SetTermFromJson(*term, value, key, &c);
    if (!st.ok()) return InSource(source, st);
  }
  if (c.full_finetune) c.lora = LoraConfig{};
  return c;
}

Result<TrainConfig> ReadTrainConfig(const std::string& path) {
  AFTUNE_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return ParseTrainConfig(text, path);
}

std::string TrainConfigToJson(const TrainConfig& c) {
  Json j = Json::object();
  for (const TrainingTerm& t : TrainingTerms())
    if (TermApplies(t, c)) j[t.key] = t.get(c);
  return j.dump();
}

}  // namespace aftune
