// GPT-2's byte-to-character map, used by tokenizer.json's ByteLevel
// pre-tokenizer and decoder: every byte of the UTF-8 text becomes one
// printable character so that BPE works on "characters" that cover all bytes.
// Bytes 0x21-0x7E, 0xA1-0xAC and 0xAE-0xFF map to the code point of the same
// value; the other 68 bytes, in increasing order, to U+0100, U+0101, ...
// (so ' ' is 'Ġ' U+0120 and '\n' is 'Ċ' U+010A).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace aftune::byte_level {

// Appends the mapped characters of `bytes` (UTF-8) to *out.
void Encode(std::string_view bytes, std::string* out);

// The byte whose mapped character is `cp`, if any.
std::optional<uint8_t> ByteOf(char32_t cp);

}  // namespace aftune::byte_level
