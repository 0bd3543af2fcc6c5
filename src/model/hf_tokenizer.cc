#include "model/hf_tokenizer.h"

#include <algorithm>

#include "base/file.h"
#include "base/strict_json.h"
#include "model/utf8.h"

namespace aftune {

using tokjson::Error;
using tokjson::Json;

namespace {

Result<std::vector<AddedToken>> ParseAddedTokens(const Json& root, const std::string& source) {
  std::vector<AddedToken> out;
  if (!root.contains("added_tokens") || root["added_tokens"].is_null()) return out;
  if (!root["added_tokens"].is_array()) return Error(source, "added_tokens", "must be an array");
  for (size_t i = 0; i < root["added_tokens"].size(); ++i) {
    const Json& t = root["added_tokens"][i];
    const std::string where = tokjson::Index("added_tokens", i);
    if (!t.is_object()) return Error(source, where, "must be an object");
    AddedToken a;
    AFTUNE_ASSIGN_OR_RETURN(int64_t id, tokjson::RequiredInt(t, "id", source, where));
    if (id < 0 || id > BpeModel::kMaxId) return Error(source, tokjson::Join(where, "id"), std::to_string(id) + " is out of range");
    a.id = static_cast<int32_t>(id);
    AFTUNE_ASSIGN_OR_RETURN(a.content, tokjson::RequiredString(t, "content", source, where));
    if (a.content.empty() || !utf8::IsValid(a.content)) {
      return Error(source, tokjson::Join(where, "content"), "must be non-empty valid UTF-8");
    }
    AFTUNE_ASSIGN_OR_RETURN(a.special, tokjson::OptionalBool(t, "special", false, source, where));
    AFTUNE_ASSIGN_OR_RETURN(a.lstrip, tokjson::OptionalBool(t, "lstrip", false, source, where));
    AFTUNE_ASSIGN_OR_RETURN(a.rstrip, tokjson::OptionalBool(t, "rstrip", false, source, where));
    AFTUNE_ASSIGN_OR_RETURN(a.single_word, tokjson::OptionalBool(t, "single_word", false, source, where));
    AFTUNE_ASSIGN_OR_RETURN(a.normalized, tokjson::OptionalBool(t, "normalized", !a.special, source, where));
    out.push_back(std::move(a));
  }
  return out;
}

}  // namespace

Result<std::unique_ptr<HfTokenizer>> HfTokenizer::Load(const std::string& path, const Ids& ids) {
  AFTUNE_ASSIGN_OR_RETURN(std::string bytes, ReadFile(path));
  return FromBytes(std::move(bytes), path, ids);
}

Result<std::unique_ptr<HfTokenizer>> HfTokenizer::FromBytes(std::string bytes, std::string source, const Ids& ids) {
  StrictJsonOptions strict;
  strict.code = Status::Code::kInvalidArgument;
  AFTUNE_ASSIGN_OR_RETURN(Json root, ParseStrictJson(bytes, source, strict));
  if (!root.is_object()) return Status::InvalidArgument(source + ": must hold a JSON object");
  for (const char* key : {"truncation", "padding"}) {
    if (root.contains(key) && !root[key].is_null()) {
      return Error(source, key, "must be null (aftune neither truncates nor pads while tokenizing)");
    }
  }
  std::unique_ptr<HfTokenizer> t(new HfTokenizer());
  if (!root.contains("model")) return Error(source, "model", "missing");
  AFTUNE_ASSIGN_OR_RETURN(t->model_, BpeModel::FromJson(root["model"], source, "model"));
  const auto component = [&](const char* key) -> const Json& {
    static const Json kNull;
    return root.contains(key) ? root[key] : kNull;
  };
  AFTUNE_ASSIGN_OR_RETURN(t->normalizer_, Normalizer::FromJson(component("normalizer"), source, "normalizer"));
  AFTUNE_ASSIGN_OR_RETURN(t->pre_tokenizer_, PreTokenizer::FromJson(component("pre_tokenizer"), source, "pre_tokenizer"));
  AFTUNE_ASSIGN_OR_RETURN(t->decoder_, TokenDecoder::FromJson(component("decoder"), source, "decoder"));
  AFTUNE_ASSIGN_OR_RETURN(t->added_, ParseAddedTokens(root, source));

  int64_t size = t->model_.size();
  for (size_t i = 0; i < t->added_.size(); ++i) {
    const AddedToken& a = t->added_[i];
    if (!t->added_by_id_.emplace(a.id, i).second) {
      return Error(source, tokjson::Index("added_tokens", i) + ".id", std::to_string(a.id) + " is listed twice");
    }
    t->added_by_content_.emplace(a.content, a.id);
    size = std::max<int64_t>(size, a.id + 1);
  }
  AFTUNE_ASSIGN_OR_RETURN(t->post_processor_,
                          PostProcessor::FromJson(component("post_processor"), size - 1, source, "post_processor"));

  // Added tokens: the non-normalized ones match the raw text, the normalized
  // ones the normalized text (their content normalized the same way).
  std::vector<const AddedToken*> raw, norm;
  std::vector<std::string> raw_patterns, norm_patterns;
  for (const AddedToken& a : t->added_) {
    if (a.normalized) {
      norm.push_back(&a);
      norm_patterns.push_back(t->normalizer_.Apply(a.content));
    } else {
      raw.push_back(&a);
      raw_patterns.push_back(a.content);
    }
  }
  t->has_normalized_tokens_ = !norm.empty();
  t->raw_matcher_ = std::make_unique<AddedTokenMatcher>(std::move(raw), raw_patterns);
  t->normalized_matcher_ = std::make_unique<AddedTokenMatcher>(std::move(norm), norm_patterns);

  Ids resolved = ids;
  if (resolved.vocab_size == 0) resolved.vocab_size = size;
  if (resolved.vocab_size < size) {
    return Status::InvalidArgument(source + ": holds ids up to " + std::to_string(size - 1) +
                                   ", beyond the model's vocab_size " + std::to_string(resolved.vocab_size));
  }
  const auto check_id = [&](int32_t id, const char* what, bool required) -> Status {
    if (id < 0 && !required) return Status::Ok();
    if (id < 0 || id >= size || (!t->model_.TokenOf(id) && !t->added_by_id_.count(id))) {
      return Status::InvalidArgument(source + ": " + what + " id " + std::to_string(id) + " is not a token of it");
    }
    return Status::Ok();
  };
  AFTUNE_RETURN_IF_ERROR(check_id(resolved.bos, "BOS", true));
  AFTUNE_RETURN_IF_ERROR(check_id(resolved.eos, "EOS", true));
  AFTUNE_RETURN_IF_ERROR(check_id(resolved.pad, "PAD", false));
  t->ids_ = resolved;
  t->path_ = std::move(source);
  t->bytes_ = std::move(bytes);
  return t;
}

void HfTokenizer::EncodeStretch(std::string_view text, bool at_text_start, std::vector<int32_t>* ids) const {
  const std::string normalized = normalizer_.Apply(std::string(text));
  const auto encode = [&](std::string_view part, bool at_start) {
    for (const std::string& piece : pre_tokenizer_.Apply(std::string(part), at_start)) model_.EncodeWord(piece, ids);
  };
  if (!has_normalized_tokens_) {
    encode(normalized, at_text_start);
    return;
  }
  for (const TextSplit& s : normalized_matcher_->Split(normalized)) {
    if (s.id >= 0) {
      ids->push_back(s.id);
    } else {
      encode(std::string_view(normalized).substr(s.begin, s.end - s.begin), at_text_start && s.begin == 0);
    }
  }
}

std::vector<int32_t> HfTokenizer::Encode(std::string_view raw) const {
  const std::string text = utf8::Sanitize(raw);
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 1);
  for (const TextSplit& s : raw_matcher_->Split(text)) {
    if (s.id >= 0) {
      ids.push_back(s.id);
    } else {
      EncodeStretch(std::string_view(text).substr(s.begin, s.end - s.begin), s.begin == 0, &ids);
    }
  }
  return ids;
}

std::vector<int32_t> HfTokenizer::EncodeWithSpecialTokens(std::string_view text) const {
  return post_processor_.Apply(Encode(text));
}

std::string HfTokenizer::Decode(std::span<const int32_t> ids) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int32_t id : ids) {
    AFTUNE_CHECK(id >= 0 && id < ids_.vocab_size);
    if (auto it = added_by_id_.find(id); it != added_by_id_.end()) {
      if (!added_[it->second].special) tokens.push_back(added_[it->second].content);
    } else if (const std::string* tok = model_.TokenOf(id)) {
      tokens.push_back(*tok);
    }
  }
  return decoder_.Decode(std::move(tokens));
}

bool HfTokenizer::IsSpecial(int32_t id) const {
  auto it = added_by_id_.find(id);
  return it != added_by_id_.end() && added_[it->second].special;
}

std::optional<int32_t> HfTokenizer::TokenId(std::string_view token) const {
  if (auto it = added_by_content_.find(std::string(token)); it != added_by_content_.end()) return it->second;
  return model_.TokenId(token);
}

}  // namespace aftune
