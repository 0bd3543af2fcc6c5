// tokenizer.json's `decoder`: turns the token strings of ids back into text.
//
// Supported: null (tokens joined with " ", as HF does), Sequence, ByteLevel,
// Metaspace, Replace (String pattern or Regex), ByteFallback, Fuse, Strip.
// Each step maps the list of token strings to a new list, and the text is
// their concatenation (HF's decode_chain). Anything else is refused naming
// its JSON path.
#pragma once

#include <string>
#include <vector>

#include "model/text_pattern.h"
#include "model/tokenizer_json.h"

namespace aftune {

class TokenDecoder {
 public:
  static Result<TokenDecoder> FromJson(const tokjson::Json& j, const std::string& source, const std::string& path);

  // The text of `tokens`; always well-formed UTF-8 (bytes that do not form
  // characters become U+FFFD, as HF's lossy conversions do).
  std::string Decode(std::vector<std::string> tokens) const;

 private:
  enum class Kind { kByteLevel, kMetaspace, kReplace, kByteFallback, kFuse, kStrip };
  struct Step {
    Kind kind{};
    std::string text;  // Metaspace replacement; Replace content; Strip content
    std::optional<TextPattern> pattern;  // Replace
    bool strip_first_space = true;       // Metaspace (prepend_scheme != never)
    size_t start = 0, stop = 0;          // Strip
  };
  Status Add(const tokjson::Json& j, const std::string& source, const std::string& path);

  bool none_ = true;  // decoder null: tokens joined with spaces
  std::vector<Step> steps_;
};

}  // namespace aftune
