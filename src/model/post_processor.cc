#include "model/post_processor.h"

#include <map>

namespace aftune {

using tokjson::Error;
using tokjson::Join;

Result<PostProcessor> PostProcessor::FromJson(const tokjson::Json& j, int64_t max_id, const std::string& source,
                                              const std::string& path) {
  PostProcessor p;
  if (!j.is_null()) AFTUNE_RETURN_IF_ERROR(p.Add(j, max_id, source, path));
  return p;
}

Status PostProcessor::Add(const tokjson::Json& j, int64_t max_id, const std::string& source, const std::string& path) {
  AFTUNE_ASSIGN_OR_RETURN(std::string type, tokjson::ComponentType(j, source, path));
  if (type == "Sequence") {
    const std::string list_path = Join(path, "processors");
    if (!j.contains("processors") || !j["processors"].is_array()) return Error(source, list_path, "must be an array");
    for (size_t i = 0; i < j["processors"].size(); ++i) {
      AFTUNE_RETURN_IF_ERROR(Add(j["processors"][i], max_id, source, tokjson::Index(list_path, i)));
    }
    return Status::Ok();
  }
  if (type == "ByteLevel") return Status::Ok();
  if (type != "TemplateProcessing") return tokjson::Unsupported(source, path, type);
  if (has_template_) return Error(source, path, "a second TemplateProcessing is not supported");
  has_template_ = true;

  // special_tokens: {"<name>": {"id": "<name>", "ids": [...], "tokens": [...]}}
  const std::string specials_path = Join(path, "special_tokens");
  std::map<std::string, std::vector<int32_t>> specials;
  if (j.contains("special_tokens")) {
    if (!j["special_tokens"].is_object()) return Error(source, specials_path, "must be an object");
    for (auto it = j["special_tokens"].begin(); it != j["special_tokens"].end(); ++it) {
      const std::string where = specials_path + "[" + tokjson::Json(it.key()).dump() + "]";
      const tokjson::Json& v = it.value();
      if (!v.is_object() || !v.contains("ids") || !v["ids"].is_array()) return Error(source, Join(where, "ids"), "must be an array");
      std::vector<int32_t> ids;
      for (const tokjson::Json& id : v["ids"]) {
        if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > max_id) {
          return Error(source, Join(where, "ids"), "must hold ids in [0, " + std::to_string(max_id) + "]");
        }
        ids.push_back(static_cast<int32_t>(id.get<int64_t>()));
      }
      specials[it.key()] = std::move(ids);
    }
  }
  const std::string single_path = Join(path, "single");
  if (!j.contains("single") || !j["single"].is_array()) return Error(source, single_path, "must be an array");
  bool has_sequence = false;
  for (size_t i = 0; i < j["single"].size(); ++i) {
    const tokjson::Json& item = j["single"][i];
    const std::string where = tokjson::Index(single_path, i);
    if (item.is_object() && item.contains("SpecialToken")) {
      AFTUNE_ASSIGN_OR_RETURN(std::string name, tokjson::RequiredString(item["SpecialToken"], "id", source, Join(where, "SpecialToken")));
      auto it = specials.find(name);
      if (it == specials.end()) return Error(source, Join(where, "SpecialToken.id"), tokjson::Json(name).dump() + " is not in special_tokens");
      single_.insert(single_.end(), it->second.begin(), it->second.end());
    } else if (item.is_object() && item.contains("Sequence")) {
      AFTUNE_ASSIGN_OR_RETURN(std::string seq, tokjson::RequiredString(item["Sequence"], "id", source, Join(where, "Sequence")));
      if (seq != "A") return Error(source, Join(where, "Sequence.id"), "must be \"A\" in a single-sequence template");
      if (has_sequence) return Error(source, where, "the sequence appears twice");
      has_sequence = true;
      single_.push_back(-1);
    } else {
      return Error(source, where, "must be {\"SpecialToken\": ...} or {\"Sequence\": ...}");
    }
  }
  if (!has_sequence) return Error(source, single_path, "has no {\"Sequence\": {\"id\": \"A\"}}");
  return Status::Ok();
}

std::vector<int32_t> PostProcessor::Apply(const std::vector<int32_t>& ids) const {
  if (!has_template_) return ids;
  std::vector<int32_t> out;
  out.reserve(ids.size() + single_.size());
  for (int32_t item : single_) {
    if (item < 0) {
      out.insert(out.end(), ids.begin(), ids.end());
    } else {
      out.push_back(item);
    }
  }
  return out;
}

}  // namespace aftune
