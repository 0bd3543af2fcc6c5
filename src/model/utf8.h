// UTF-8 helpers for the tokenizer.json pipeline (model/hf_tokenizer.h).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace aftune::utf8 {

// `text` with every byte sequence that is not well-formed UTF-8 (overlong,
// surrogate, beyond U+10FFFF, truncated) replaced by U+FFFD, one per maximal
// ill-formed subpart as Python's errors="replace" and Rust's from_utf8_lossy
// do. Well-formed text comes back unchanged.
std::string Sanitize(std::string_view text);

// True when `text` is well-formed UTF-8.
bool IsValid(std::string_view text);

// The length in bytes of the character starting at text[i].
// REQUIRES: text is well-formed UTF-8 and i < text.size() is a character start.
inline size_t CharLen(std::string_view text, size_t i) {
  const unsigned char c = static_cast<unsigned char>(text[i]);
  return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
}

// Appends the UTF-8 encoding of code point `cp` (REQUIRES: a scalar value).
void Append(std::string* out, char32_t cp);

}  // namespace aftune::utf8
