#include "commit/encoding.h"

namespace aftune {

namespace {

constexpr char kHexDigits[] = "0123456789abcdef";
constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

int B64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

std::string HexEncode(std::span<const uint8_t> data) {
  std::string out(2 * data.size(), '\0');
  for (size_t i = 0; i < data.size(); i++) {
    out[2 * i] = kHexDigits[data[i] >> 4];
    out[2 * i + 1] = kHexDigits[data[i] & 15];
  }
  return out;
}

Status HexDecodeInto(std::string_view hex, std::span<uint8_t> out) {
  if (hex.size() != 2 * out.size()) {
    return Status::Corruption("hex: want " + std::to_string(2 * out.size()) + " characters, have " +
                              std::to_string(hex.size()));
  }
  for (size_t i = 0; i < out.size(); i++) {
    int hi = HexValue(hex[2 * i]);
    int lo = HexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return Status::Corruption("hex: character " + std::to_string(hi < 0 ? 2 * i : 2 * i + 1) +
                                " is not a lowercase hex digit");
    }
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return Status::Ok();
}

Result<std::vector<uint8_t>> HexDecode(std::string_view hex) {
  if (hex.size() % 2 != 0) return Status::Corruption("hex: odd number of characters");
  std::vector<uint8_t> out(hex.size() / 2);
  AFTUNE_RETURN_IF_ERROR(HexDecodeInto(hex, out));
  return out;
}

std::string Base64Encode(std::span<const uint8_t> data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    uint32_t v = uint32_t{data[i]} << 16 | uint32_t{data[i + 1]} << 8 | data[i + 2];
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
    out += kB64[v & 63];
  }
  size_t rest = data.size() - i;
  if (rest == 1) {
    uint32_t v = uint32_t{data[i]} << 16;
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += "==";
  } else if (rest == 2) {
    uint32_t v = uint32_t{data[i]} << 16 | uint32_t{data[i + 1]} << 8;
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

Result<std::vector<uint8_t>> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) {
    return Status::Corruption("base64: length " + std::to_string(text.size()) + " is not a multiple of 4");
  }
  size_t pad = 0;
  if (!text.empty() && text.back() == '=') pad = (text[text.size() - 2] == '=') ? 2 : 1;
  std::vector<uint8_t> out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    bool last = i + 4 == text.size();
    size_t data_chars = (last ? 4 - pad : 4);
    uint32_t v = 0;
    for (size_t j = 0; j < 4; j++) {
      int d = 0;
      if (j < data_chars) {
        d = B64Value(text[i + j]);
        if (d < 0) {
          return Status::Corruption("base64: character " + std::to_string(i + j) + " is not in the alphabet");
        }
      }
      v = v << 6 | static_cast<uint32_t>(d);
    }
    out.push_back(static_cast<uint8_t>(v >> 16));
    if (data_chars >= 3) out.push_back(static_cast<uint8_t>(v >> 8));
    if (data_chars == 4) out.push_back(static_cast<uint8_t>(v));
    // Canonical form: the bits a padded group does not carry must be zero.
    if ((data_chars == 2 && (v & 0xffff) != 0) || (data_chars == 3 && (v & 0xff) != 0)) {
      return Status::Corruption("base64: non-zero padding bits (not the canonical encoding)");
    }
  }
  return out;
}

Result<uint64_t> ParseDecimalU64(std::string_view text) {
  if (text.empty()) return Status::Corruption("decimal: empty");
  if (text.size() > 1 && text[0] == '0') return Status::Corruption("decimal: leading zero");
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return Status::Corruption("decimal: not a digit in \"" + std::string(text) + "\"");
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return Status::Corruption("decimal: overflows 64 bits");
    v = v * 10 + d;
  }
  return v;
}

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<uint8_t>(s[i]);
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t n;
    uint32_t cp, min;
    if ((c & 0xe0) == 0xc0) {
      n = 2, cp = c & 0x1f, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
      n = 3, cp = c & 0x0f, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
      n = 4, cp = c & 0x07, min = 0x10000;
    } else {
      return false;
    }
    if (i + n > s.size()) return false;
    for (size_t j = 1; j < n; j++) {
      auto cc = static_cast<uint8_t>(s[i + j]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = cp << 6 | (cc & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += n;
  }
  return true;
}

}  // namespace aftune
