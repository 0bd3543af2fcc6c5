// generation_config.json: see generation_config.h.
#include "model/generation_config.h"

#include <nlohmann/json.hpp>

#include "base/file.h"
#include "base/strict_json.h"

namespace aftune {

namespace {

using Json = nlohmann::json;

Status FieldError(const std::string& source, const std::string& field, const std::string& what) {
  return Status::InvalidArgument(source + ": field '" + field + "' " + what);
}

Result<int64_t> TokenId(const Json& v, const std::string& source, const std::string& field) {
  if (!v.is_number_integer() || v.get<int64_t>() < 0)
    return FieldError(source, field, "must be a non-negative integer");
  return v.get<int64_t>();
}

Result<std::optional<int64_t>> OptionalId(const Json& j, const char* key, const std::string& source) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::optional<int64_t>();
  AFTUNE_ASSIGN_OR_RETURN(int64_t id, TokenId(*it, source, key));
  return std::optional<int64_t>(id);
}

Result<std::optional<double>> OptionalNumber(const Json& j, const char* key, const std::string& source) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::optional<double>();
  if (!it->is_number()) return FieldError(source, key, "must be a number");
  return std::optional<double>(it->get<double>());
}

}  // namespace

Result<GenerationConfig> ParseGenerationConfig(std::string_view json, const std::string& source) {
  AFTUNE_ASSIGN_OR_RETURN(Json j, ParseStrictJson(json, source));
  if (!j.is_object()) return Status::Corruption(source + ": must be a JSON object");
  GenerationConfig g;
  if (auto e = j.find("eos_token_id"); e != j.end() && !e->is_null()) {
    if (e->is_array()) {
      for (size_t i = 0; i < e->size(); ++i) {
        AFTUNE_ASSIGN_OR_RETURN(int64_t id, TokenId((*e)[i], source, "eos_token_id[" + std::to_string(i) + "]"));
        g.eos_token_ids.push_back(id);
      }
    } else {
      AFTUNE_ASSIGN_OR_RETURN(int64_t id, TokenId(*e, source, "eos_token_id"));
      g.eos_token_ids.push_back(id);
    }
  }
  AFTUNE_ASSIGN_OR_RETURN(g.bos_token_id, OptionalId(j, "bos_token_id", source));
  AFTUNE_ASSIGN_OR_RETURN(g.pad_token_id, OptionalId(j, "pad_token_id", source));
  AFTUNE_ASSIGN_OR_RETURN(g.top_k, OptionalId(j, "top_k", source));
  AFTUNE_ASSIGN_OR_RETURN(g.max_new_tokens, OptionalId(j, "max_new_tokens", source));
  AFTUNE_ASSIGN_OR_RETURN(g.temperature, OptionalNumber(j, "temperature", source));
  AFTUNE_ASSIGN_OR_RETURN(g.top_p, OptionalNumber(j, "top_p", source));
  if (auto d = j.find("do_sample"); d != j.end() && !d->is_null()) {
    if (!d->is_boolean()) return FieldError(source, "do_sample", "must be true or false");
    g.do_sample = d->get<bool>();
  }
  return g;
}

Result<GenerationConfig> LoadGenerationConfig(const std::string& dir) {
  const std::string path = dir + "/generation_config.json";
  if (!FileExists(path)) return GenerationConfig{};
  AFTUNE_ASSIGN_OR_RETURN(std::string bytes, ReadFile(path));
  return ParseGenerationConfig(bytes, path);
}

}  // namespace aftune
