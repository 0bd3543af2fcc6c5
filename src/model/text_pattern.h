// The `pattern` of tokenizer.json's Split pre-tokenizer, Replace normalizer
// and Replace decoder: {"String": "literal"} or {"Regex": "..."}.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "model/tokenizer_json.h"
#include "model/unicode_regex.h"

namespace aftune {

class TextPattern {
 public:
  // Parses the pattern object at `path`; errors name it.
  static Result<TextPattern> FromJson(const tokjson::Json& j, const std::string& source, const std::string& path);

  // A literal pattern.
  static TextPattern Literal(std::string literal);

  // The [begin, end) byte ranges of the non-overlapping, non-empty matches,
  // left to right. REQUIRES: text is well-formed UTF-8.
  std::vector<std::pair<size_t, size_t>> Matches(std::string_view text) const;

  // `text` with every match replaced by `content`.
  std::string ReplaceAll(std::string_view text, std::string_view content) const;

 private:
  std::string literal_;
  std::optional<UnicodeRegex> regex_;
};

}  // namespace aftune
