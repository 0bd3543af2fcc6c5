// Canonical text encodings of bytes and numbers, with strict decoders.
//
// Every value aftune signs or hashes has exactly one text form, so every
// decoder here rejects the alternatives a lenient decoder would accept:
//
//   hex      lowercase [0-9a-f], two characters per byte. "AB", "a", "0x.."
//            and whitespace are errors.
//   base64   RFC 4648 §4, standard alphabet, '=' padding to a multiple of 4
//            characters. Missing or extra padding, whitespace, the URL-safe
//            alphabet and non-zero unused bits in the last character
//            ("QR==" for 0x41) are errors, so decode∘encode is a bijection.
//   decimal  ASCII digits of an unsigned 64-bit integer, no sign, no leading
//            zero (except "0" itself), no overflow.
//
// All decoders return kCorruption naming the offending position.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace aftune {

inline std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
inline std::string_view AsChars(std::span<const uint8_t> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

std::string HexEncode(std::span<const uint8_t> data);
// Decodes exactly out.size() bytes; any other length is an error.
Status HexDecodeInto(std::string_view hex, std::span<uint8_t> out);
Result<std::vector<uint8_t>> HexDecode(std::string_view hex);

std::string Base64Encode(std::span<const uint8_t> data);
Result<std::vector<uint8_t>> Base64Decode(std::string_view text);

Result<uint64_t> ParseDecimalU64(std::string_view text);

// Whether `s` is well-formed UTF-8 (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF).
bool IsValidUtf8(std::string_view s);

}  // namespace aftune
