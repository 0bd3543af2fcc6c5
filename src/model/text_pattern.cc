#include "model/text_pattern.h"

namespace aftune {

Result<TextPattern> TextPattern::FromJson(const tokjson::Json& j, const std::string& source,
                                          const std::string& path) {
  if (!j.is_object() || j.size() != 1) {
    return tokjson::Error(source, path, "must be {\"String\": ...} or {\"Regex\": ...}");
  }
  TextPattern p;
  if (j.contains("String")) {
    AFTUNE_ASSIGN_OR_RETURN(p.literal_, tokjson::RequiredString(j, "String", source, path));
  } else if (j.contains("Regex")) {
    AFTUNE_ASSIGN_OR_RETURN(std::string re, tokjson::RequiredString(j, "Regex", source, path));
    AFTUNE_ASSIGN_OR_RETURN(UnicodeRegex compiled,
                            UnicodeRegex::Compile(re, source + ": " + tokjson::Join(path, "Regex")));
    p.regex_ = std::move(compiled);
  } else {
    return tokjson::Error(source, path, "must be {\"String\": ...} or {\"Regex\": ...}");
  }
  return p;
}

TextPattern TextPattern::Literal(std::string literal) {
  TextPattern p;
  p.literal_ = std::move(literal);
  return p;
}

std::vector<std::pair<size_t, size_t>> TextPattern::Matches(std::string_view text) const {
  if (regex_) return regex_->Matches(text);
  std::vector<std::pair<size_t, size_t>> out;
  if (literal_.empty()) return out;
  for (size_t pos = text.find(literal_); pos != std::string_view::npos; pos = text.find(literal_, pos)) {
    out.emplace_back(pos, pos + literal_.size());
    pos += literal_.size();
  }
  return out;
}

std::string TextPattern::ReplaceAll(std::string_view text, std::string_view content) const {
  std::string out;
  size_t last = 0;
  for (auto [b, e] : Matches(text)) {
    out.append(text.substr(last, b - last));
    out.append(content);
    last = e;
  }
  out.append(text.substr(last));
  return out;
}

}  // namespace aftune
