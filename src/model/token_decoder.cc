#include "model/token_decoder.h"

#include "model/byte_level.h"
#include "model/utf8.h"

namespace aftune {

namespace {

// The code point at text[*i], advancing *i. REQUIRES: well-formed UTF-8.
char32_t NextChar(std::string_view text, size_t* i) {
  const size_t n = utf8::CharLen(text, *i);
  const auto b = [&](size_t k) { return static_cast<char32_t>(static_cast<unsigned char>(text[*i + k])); };
  char32_t cp = n == 1 ? b(0) : n == 2 ? b(0) & 0x1F : n == 3 ? b(0) & 0x0F : b(0) & 0x07;
  for (size_t k = 1; k < n; ++k) cp = (cp << 6) | (b(k) & 0x3F);
  *i += n;
  return cp;
}

// ByteLevel: each token's characters back to bytes (a token with a
// character outside the map, such as an added token, contributes its own
// bytes), all joined into one lossily decoded string.
std::vector<std::string> ByteLevelChain(const std::vector<std::string>& tokens) {
  std::string bytes;
  for (const std::string& t : tokens) {
    std::string mine;
    bool all = true;
    for (size_t i = 0; i < t.size() && all;) {
      const auto b = byte_level::ByteOf(NextChar(t, &i));
      if (b) {
        mine.push_back(static_cast<char>(*b));
      } else {
        all = false;
      }
    }
    bytes += all ? mine : t;
  }
  return {utf8::Sanitize(bytes)};
}

// ByteFallback: runs of <0xXX> tokens become the text of their bytes, or one
// U+FFFD per byte when those bytes are not valid UTF-8.
std::vector<std::string> ByteFallbackChain(const std::vector<std::string>& tokens) {
  std::vector<std::string> out;
  std::string pending;
  size_t pending_count = 0;
  const auto flush = [&] {
    if (pending_count == 0) return;
    if (utf8::IsValid(pending)) {
      out.push_back(pending);
    } else {
      for (size_t k = 0; k < pending_count; ++k) out.emplace_back("\xEF\xBF\xBD");
    }
    pending.clear();
    pending_count = 0;
  };
  for (const std::string& t : tokens) {
    unsigned value = 0;
    bool is_byte = t.size() == 6 && t.compare(0, 3, "<0x") == 0 && t[5] == '>';
    for (size_t k = 3; is_byte && k < 5; ++k) {
      const char c = t[k];
      const int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
      if (d < 0) is_byte = false;
      value = value * 16 + static_cast<unsigned>(d);
    }
    if (is_byte) {
      pending.push_back(static_cast<char>(value));
      ++pending_count;
    } else {
      flush();
      out.push_back(t);
    }
  }
  flush();
  return out;
}

std::string StripChars(const std::string& t, std::string_view content, size_t start, size_t stop) {
  // Character positions of t.
  std::vector<size_t> pos;
  for (size_t i = 0; i < t.size(); i += utf8::CharLen(t, i)) pos.push_back(i);
  pos.push_back(t.size());
  const size_t nchars = pos.size() - 1;
  const auto is_content = [&](size_t c) { return t.compare(pos[c], pos[c + 1] - pos[c], content) == 0; };
  size_t b = 0;
  while (b < start && b < nchars && is_content(b)) ++b;
  size_t e = nchars;
  for (size_t k = 0; k < stop && e > b && is_content(e - 1); ++k) --e;
  return t.substr(pos[b], pos[e] - pos[b]);
}

}  // namespace

Result<TokenDecoder> TokenDecoder::FromJson(const tokjson::Json& j, const std::string& source,
                                            const std::string& path) {
  TokenDecoder d;
  if (!j.is_null()) {
    d.none_ = false;
    AFTUNE_RETURN_IF_ERROR(d.Add(j, source, path));
  }
  return d;
}

Status TokenDecoder::Add(const tokjson::Json& j, const std::string& source, const std::string& path) {
  // Read in place: moving the string out of the Result trips GCC 12's
  // -Wmaybe-uninitialized here.
  const Result<std::string> type_or = tokjson::ComponentType(j, source, path);
  if (!type_or.ok()) return type_or.status();
  const std::string& type = type_or.value();
  Step s;
  if (type == "Sequence") {
    const std::string list_path = tokjson::Join(path, "decoders");
    if (!j.contains("decoders") || !j["decoders"].is_array()) return tokjson::Error(source, list_path, "must be an array");
    for (size_t i = 0; i < j["decoders"].size(); ++i) {
      AFTUNE_RETURN_IF_ERROR(Add(j["decoders"][i], source, tokjson::Index(list_path, i)));
    }
    return Status::Ok();
  } else if (type == "ByteLevel") {
    s.kind = Kind::kByteLevel;
  } else if (type == "Metaspace") {
    s.kind = Kind::kMetaspace;
    AFTUNE_ASSIGN_OR_RETURN(s.text, tokjson::OptionalString(j, "replacement", "\xE2\x96\x81", source, path));
    if (j.contains("prepend_scheme") && !j["prepend_scheme"].is_null()) {
      AFTUNE_ASSIGN_OR_RETURN(std::string scheme, tokjson::RequiredString(j, "prepend_scheme", source, path));
      if (scheme != "always" && scheme != "first" && scheme != "never") {
        return tokjson::Error(source, tokjson::Join(path, "prepend_scheme"), "\"" + scheme + "\" is not supported");
      }
      s.strip_first_space = scheme != "never";
    } else {
      AFTUNE_ASSIGN_OR_RETURN(s.strip_first_space, tokjson::OptionalBool(j, "add_prefix_space", true, source, path));
    }
  } else if (type == "Replace") {
    s.kind = Kind::kReplace;
    if (!j.contains("pattern")) return tokjson::Error(source, tokjson::Join(path, "pattern"), "missing");
    AFTUNE_ASSIGN_OR_RETURN(TextPattern p, TextPattern::FromJson(j["pattern"], source, tokjson::Join(path, "pattern")));
    s.pattern = std::move(p);
    AFTUNE_ASSIGN_OR_RETURN(s.text, tokjson::RequiredString(j, "content", source, path));
  } else if (type == "ByteFallback") {
    s.kind = Kind::kByteFallback;
  } else if (type == "Fuse") {
    s.kind = Kind::kFuse;
  } else if (type == "Strip") {
    s.kind = Kind::kStrip;
    AFTUNE_ASSIGN_OR_RETURN(s.text, tokjson::RequiredString(j, "content", source, path));
    size_t chars = 0;
    for (size_t i = 0; i < s.text.size(); i += utf8::CharLen(s.text, i)) ++chars;
    if (chars != 1) return tokjson::Error(source, tokjson::Join(path, "content"), "must be one character");
    AFTUNE_ASSIGN_OR_RETURN(int64_t start, tokjson::RequiredInt(j, "start", source, path));
    AFTUNE_ASSIGN_OR_RETURN(int64_t stop, tokjson::RequiredInt(j, "stop", source, path));
    if (start < 0 || stop < 0) return tokjson::Error(source, path, "start and stop must not be negative");
    s.start = static_cast<size_t>(start);
    s.stop = static_cast<size_t>(stop);
  } else {
    return tokjson::Unsupported(source, path, type);
  }
  steps_.push_back(std::move(s));
  return Status::Ok();
}

std::string TokenDecoder::Decode(std::vector<std::string> tokens) const {
  if (none_) {
    std::string out;
    for (size_t i = 0; i < tokens.size(); ++i) out += (i ? " " : "") + tokens[i];
    return out;
  }
  for (const Step& s : steps_) {
    switch (s.kind) {
      case Kind::kByteLevel:
        tokens = ByteLevelChain(tokens);
        break;
      case Kind::kByteFallback:
        tokens = ByteFallbackChain(tokens);
        break;
      case Kind::kFuse: {
        std::string all;
        for (const std::string& t : tokens) all += t;
        tokens = {all};
        break;
      }
      case Kind::kReplace:
        for (std::string& t : tokens) t = s.pattern->ReplaceAll(t, s.text);
        break;
      case Kind::kMetaspace:
        for (size_t i = 0; i < tokens.size(); ++i) {
          tokens[i] = TextPattern::Literal(s.text).ReplaceAll(tokens[i], " ");
          if (i == 0 && s.strip_first_space && !tokens[i].empty() && tokens[i][0] == ' ') tokens[i].erase(0, 1);
        }
        break;
      case Kind::kStrip:
        for (std::string& t : tokens) t = StripChars(t, s.text, s.start, s.stop);
        break;
    }
  }
  std::string out;
  for (const std::string& t : tokens) out += t;
  return out;
}

}  // namespace aftune
