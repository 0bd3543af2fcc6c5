#include "model/byte_level.h"

#include <array>

#include "model/utf8.h"

namespace aftune::byte_level {

namespace {

struct Tables {
  std::array<char32_t, 256> char_of{};
  std::array<std::string, 256> utf8_of;
  Tables() {
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
      char_of[b] = printable ? static_cast<char32_t>(b) : next++;
      utf8::Append(&utf8_of[b], char_of[b]);
    }
  }
};

const Tables& T() {
  static const Tables t;
  return t;
}

}  // namespace

void Encode(std::string_view bytes, std::string* out) {
  const Tables& t = T();
  for (unsigned char c : bytes) out->append(t.utf8_of[c]);
}

std::optional<uint8_t> ByteOf(char32_t cp) {
  if (cp < 256) {
    const bool printable = (cp >= 0x21 && cp <= 0x7E) || (cp >= 0xA1 && cp <= 0xAC) || (cp >= 0xAE);
    if (printable) return static_cast<uint8_t>(cp);
    return std::nullopt;
  }
  const Tables& t = T();
  for (int b = 0; b < 256; ++b) {
    if (t.char_of[b] == cp) return static_cast<uint8_t>(b);
  }
  return std::nullopt;
}

}  // namespace aftune::byte_level
