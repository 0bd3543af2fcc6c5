// tokenizer_config.json's chat fields: see tokenizer_config.h.
#include "model/tokenizer_config.h"

#include <nlohmann/json.hpp>

#include "base/file.h"
#include "base/strict_json.h"

namespace aftune {

namespace {

using Json = nlohmann::ordered_json;

Status FieldError(const std::string& source, const std::string& field, const std::string& what) {
  return Status::InvalidArgument(source + ": field '" + field + "' " + what);
}

// A special token: a string, or an AddedToken object whose "content" is one.
Result<std::optional<std::string>> TokenText(const Json& v, const std::string& source, const std::string& field) {
  if (v.is_null()) return std::optional<std::string>();
  if (v.is_string()) return std::optional<std::string>(v.get<std::string>());
  if (v.is_object()) {
    auto c = v.find("content");
    if (c != v.end() && c->is_string()) return std::optional<std::string>(c->get<std::string>());
    return FieldError(source, field + ".content", "must be a string");
  }
  return FieldError(source, field, "must be a string, an AddedToken object or null");
}

Result<std::optional<std::string>> Template(const Json& v, const std::string& source) {
  if (v.is_null()) return std::optional<std::string>();
  if (v.is_string()) return std::optional<std::string>(v.get<std::string>());
  if (!v.is_array()) return FieldError(source, "chat_template", "must be a string, a list of {name, template} or null");
  std::optional<std::string> found;
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string f = "chat_template[" + std::to_string(i) + "]";
    const Json& e = v[i];
    if (!e.is_object()) return FieldError(source, f, "must be an object {name, template}");
    auto n = e.find("name");
    auto t = e.find("template");
    if (n == e.end() || !n->is_string()) return FieldError(source, f + ".name", "must be a string");
    if (t == e.end() || !t->is_string()) return FieldError(source, f + ".template", "must be a string");
    if (n->get<std::string>() == "default") found = t->get<std::string>();
  }
  if (!found) return FieldError(source, "chat_template", "lists named templates but none is named 'default'");
  return found;
}

void PutLengthPrefixed(std::string* out, std::string_view s) {
  uint64_t n = s.size();
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  out->append(s);
}

}  // namespace

jinja::Dict ChatTemplateConfig::Variables() const {
  jinja::Dict d;
  for (const auto& [name, text] : special_tokens) d.emplace_back(name, jinja::Value::String(text));
  if (!additional_special_tokens.empty()) {
    jinja::List l;
    for (const std::string& t : additional_special_tokens) l.push_back(jinja::Value::String(t));
    d.emplace_back("additional_special_tokens", jinja::Value::MakeList(std::move(l)));
  }
  return d;
}

std::string ChatTemplateConfig::CanonicalBytes() const {
  std::string out = "aftune chat template v1\n";
  out += chat_template ? '\1' : '\0';
  if (chat_template) PutLengthPrefixed(&out, *chat_template);
  PutLengthPrefixed(&out, std::to_string(special_tokens.size()));
  for (const auto& [name, text] : special_tokens) {
    PutLengthPrefixed(&out, name);
    PutLengthPrefixed(&out, text);
  }
  PutLengthPrefixed(&out, std::to_string(additional_special_tokens.size()));
  for (const std::string& t : additional_special_tokens) PutLengthPrefixed(&out, t);
  return out;
}

Result<ChatTemplateConfig> ParseTokenizerConfig(std::string_view json, const std::string& source) {
  AFTUNE_ASSIGN_OR_RETURN(Json j, ParseStrictJsonAs<Json>(json, source));
  if (!j.is_object()) return Status::Corruption(source + ": must be a JSON object");
  ChatTemplateConfig c;
  if (auto t = j.find("chat_template"); t != j.end()) {
    AFTUNE_ASSIGN_OR_RETURN(c.chat_template, Template(*t, source));
    if (c.chat_template) c.template_source = source;
  }
  for (const char* name :
       {"bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"}) {
    auto v = j.find(name);
    if (v == j.end()) continue;
    AFTUNE_ASSIGN_OR_RETURN(std::optional<std::string> text, TokenText(*v, source, name));
    if (text) c.special_tokens.emplace_back(name, *text);
  }
  if (auto a = j.find("additional_special_tokens"); a != j.end() && !a->is_null()) {
    if (!a->is_array()) return FieldError(source, "additional_special_tokens", "must be a list");
    for (size_t i = 0; i < a->size(); ++i) {
      const std::string f = "additional_special_tokens[" + std::to_string(i) + "]";
      AFTUNE_ASSIGN_OR_RETURN(std::optional<std::string> text, TokenText((*a)[i], source, f));
      if (!text) return FieldError(source, f, "must not be null");
      c.additional_special_tokens.push_back(*text);
    }
  }
  return c;
}

Result<ChatTemplateConfig> LoadChatTemplateConfig(const std::string& dir) {
  ChatTemplateConfig c;
  const std::string config_path = dir + "/tokenizer_config.json";
  if (FileExists(config_path)) {
    AFTUNE_ASSIGN_OR_RETURN(std::string bytes, ReadFile(config_path));
    AFTUNE_ASSIGN_OR_RETURN(c, ParseTokenizerConfig(bytes, config_path));
  }
  const std::string jinja_path = dir + "/chat_template.jinja";
  if (FileExists(jinja_path)) {
    AFTUNE_ASSIGN_OR_RETURN(std::string text, ReadFile(jinja_path));
    c.chat_template = std::move(text);
    c.template_source = jinja_path;
  }
  return c;
}

}  // namespace aftune
