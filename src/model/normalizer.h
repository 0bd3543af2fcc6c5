// tokenizer.json's `normalizer`: the text transformation applied to each
// stretch of text between added tokens before pre-tokenization.
//
// Supported: null (none), Sequence, Prepend, Replace (String or Regex
// pattern), NFC, NFKC (Debian's utf8proc). Anything else is refused naming
// its JSON path.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "model/text_pattern.h"
#include "model/tokenizer_json.h"

namespace aftune {

class Normalizer {
 public:
  // `j` is the value at `path` (null allowed: the identity).
  static Result<Normalizer> FromJson(const tokjson::Json& j, const std::string& source, const std::string& path);

  // REQUIRES: text is well-formed UTF-8. The result is well-formed UTF-8.
  std::string Apply(std::string text) const;

 private:
  enum class Kind { kPrepend, kReplace, kNfc, kNfkc };
  struct Step {
    Kind kind{};
    std::string text;  // what Prepend prepends, what Replace writes
    std::optional<TextPattern> pattern;  // Replace
  };
  Status Add(const tokjson::Json& j, const std::string& source, const std::string& path);

  std::vector<Step> steps_;  // in order (a Sequence flattened)
};

}  // namespace aftune
