// A regular expression over UTF-8 text with full Unicode properties, as the
// Split pre-tokenizer and the ByteLevel pre-tokenizer of tokenizer.json use
// (`\p{L}`, `\p{N}`, `(?i:...)`, `(?!\S)`). Backed by Debian's PCRE2 in UTF
// and UCP mode (Unicode semantics for \s, \w, \d and case folding), JIT
// compiled. HF tokenizers uses Oniguruma; for the patterns tokenizer.json
// files ship the two agree.
//
// Immutable after Compile: Matches may be called from several threads at once.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace aftune {

class UnicodeRegex {
 public:
  // kInvalidArgument naming `where` and PCRE2's reason when `pattern` does not
  // compile.
  static Result<UnicodeRegex> Compile(std::string_view pattern, const std::string& where);

  // The [begin, end) byte ranges of the non-overlapping, non-empty matches of
  // the pattern in `text`, left to right (the leftmost match first, then the
  // search resumes at its end, as Rust's find_iter does).
  // REQUIRES: text is well-formed UTF-8 (utf8::Sanitize).
  std::vector<std::pair<size_t, size_t>> Matches(std::string_view text) const;

 private:
  struct Code;
  std::shared_ptr<const Code> code_;
};

}  // namespace aftune
