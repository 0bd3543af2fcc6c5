#include "model/normalizer.h"

#include <cstdlib>
#include <memory>

#include <utf8proc.h>

namespace aftune {

namespace {

// NFC or NFKC of well-formed UTF-8 text through utf8proc.
std::string Normalize(const std::string& text, bool compat) {
  // ASCII is its own NFC and NFKC.
  bool ascii = true;
  for (unsigned char c : text) ascii &= c < 0x80;
  if (ascii) return text;
  utf8proc_uint8_t* out = nullptr;
  const int options = UTF8PROC_STABLE | UTF8PROC_COMPOSE | (compat ? UTF8PROC_COMPAT : 0);
  const utf8proc_ssize_t n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                                          static_cast<utf8proc_ssize_t>(text.size()), &out,
                                          static_cast<utf8proc_option_t>(options));
  // utf8proc fails only on invalid UTF-8 (ruled out by the precondition) or
  // out of memory.
  AFTUNE_CHECK(n >= 0);
  std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> owned(out, &std::free);
  return std::string(reinterpret_cast<const char*>(out), static_cast<size_t>(n));
}

}  // namespace

Result<Normalizer> Normalizer::FromJson(const tokjson::Json& j, const std::string& source,
                                        const std::string& path) {
  Normalizer n;
  if (!j.is_null()) AFTUNE_RETURN_IF_ERROR(n.Add(j, source, path));
  return n;
}

Status Normalizer::Add(const tokjson::Json& j, const std::string& source, const std::string& path) {
  AFTUNE_ASSIGN_OR_RETURN(std::string type, tokjson::ComponentType(j, source, path));
  if (type == "Sequence") {
    const std::string list_path = tokjson::Join(path, "normalizers");
    if (!j.contains("normalizers") || !j["normalizers"].is_array()) {
      return tokjson::Error(source, list_path, "must be an array");
    }
    for (size_t i = 0; i < j["normalizers"].size(); ++i) {
      AFTUNE_RETURN_IF_ERROR(Add(j["normalizers"][i], source, tokjson::Index(list_path, i)));
    }
  } else if (type == "Prepend") {
    AFTUNE_ASSIGN_OR_RETURN(std::string s, tokjson::RequiredString(j, "prepend", source, path));
    steps_.push_back({Kind::kPrepend, std::move(s), std::nullopt});
  } else if (type == "Replace") {
    if (!j.contains("pattern")) return tokjson::Error(source, tokjson::Join(path, "pattern"), "missing");
    AFTUNE_ASSIGN_OR_RETURN(TextPattern p, TextPattern::FromJson(j["pattern"], source, tokjson::Join(path, "pattern")));
    AFTUNE_ASSIGN_OR_RETURN(std::string content, tokjson::RequiredString(j, "content", source, path));
    steps_.push_back({Kind::kReplace, std::move(content), std::move(p)});
  } else if (type == "NFC") {
    steps_.push_back({Kind::kNfc, "", std::nullopt});
  } else if (type == "NFKC") {
    steps_.push_back({Kind::kNfkc, "", std::nullopt});
  } else {
    return tokjson::Unsupported(source, path, type);
  }
  return Status::Ok();
}

std::string Normalizer::Apply(std::string text) const {
  for (const Step& s : steps_) {
    switch (s.kind) {
      case Kind::kPrepend:
        // HF prepends only to non-empty text.
        if (!text.empty()) text.insert(0, s.text);
        break;
      case Kind::kReplace:
        text = s.pattern->ReplaceAll(text, s.text);
        break;
      case Kind::kNfc:
        text = Normalize(text, false);
        break;
      case Kind::kNfkc:
        text = Normalize(text, true);
        break;
    }
  }
  return text;
}

}  // namespace aftune
