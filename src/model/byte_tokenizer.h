// The built-in byte tokenizer of the presets: ids 0-255 are the bytes of the
// UTF-8 text, 256 is BOS, 257 is EOS, 258 is PAD (vocabulary of 259).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace aftune {

struct ByteTokenizer {
  static constexpr int32_t kBos = 256, kEos = 257, kPad = 258, kVocabSize = 259;

  static std::vector<int32_t> Encode(std::string_view text) {
    std::vector<int32_t> ids;
    ids.reserve(text.size());
    for (unsigned char c : text) ids.push_back(c);
    return ids;
  }
  // Bytes of the ids below 256; special ids are dropped.
  static std::string Decode(const std::vector<int32_t>& ids) {
    std::string s;
    for (int32_t id : ids)
      if (id >= 0 && id < 256) s.push_back(static_cast<char>(id));
    return s;
  }
};

}  // namespace aftune
