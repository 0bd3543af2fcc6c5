// Python's str operations on UTF-8 text, for the Jinja interpreter: Python
// indexes, slices and measures strings by code point, and its strip() and
// split() treat every Unicode whitespace character (str.isspace) as space.
//
// Case mapping (upper, lower, title, capitalize) follows Python for ASCII
// and for the one-to-one mappings of Latin-1, Latin Extended-A, modern Greek
// (with tonos and dialytika) and basic Cyrillic (U+0400-U+045F), checked
// against Python code point by code point; other characters are left as
// they are, where Python maps some (µ ı ſ, Latin Extended-B, archaic Greek,
// 'ß'.upper() == 'SS', ...).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace aftune::jinja {

// The code points of valid UTF-8 `s` (an invalid byte becomes U+FFFD).
std::u32string DecodeUtf8(std::string_view s);
std::string EncodeUtf8(std::u32string_view s);

// Python's str.isspace for one code point.
bool IsPySpace(char32_t c);

// str.strip / lstrip / rstrip: `chars` empty and `whitespace` true strips
// Unicode whitespace, else the code points of `chars`.
std::string PyStrip(std::string_view s, std::string_view chars, bool whitespace, bool left, bool right);

// str.split(): on runs of whitespace, without empty pieces, at most
// `maxsplit` splits (< 0: no limit).
std::vector<std::string> PySplitWhitespace(std::string_view s, long maxsplit);
// str.split(sep) with non-empty `sep`.
std::vector<std::string> PySplit(std::string_view s, std::string_view sep, long maxsplit);
// str.replace(old, new, count) (count < 0: all).
std::string PyReplace(std::string_view s, std::string_view from, std::string_view to, long count);

std::string PyUpper(std::string_view s);
std::string PyLower(std::string_view s);
std::string PyTitle(std::string_view s);       // str.title
std::string PyCapitalize(std::string_view s);  // str.capitalize

}  // namespace aftune::jinja
