#include "serve/text_stream.h"

#include <algorithm>

#include "base/status.h"
#include "infer/generator.h"

namespace aftune {

size_t CompleteUtf8Prefix(std::string_view text) {
  // Look back at most 3 bytes for the lead byte of the last sequence.
  const size_t n = text.size();
  for (size_t back = 1; back <= std::min<size_t>(3, n); ++back) {
    const auto b = static_cast<unsigned char>(text[n - back]);
    if ((b & 0xC0) == 0x80) continue;  // a continuation byte
    const size_t need = b >= 0xF0 && b <= 0xF4 ? 4 : b >= 0xE0 ? 3 : b >= 0xC2 && b < 0xE0 ? 2 : 1;
    return need > back ? n - back : n;
  }
  return n;
}

std::string TextStream::Push(std::string_view decoded) {
  size_t safe = CompleteUtf8Prefix(decoded);
  if (size_t at = FindStop(std::string(decoded), stops_); at != std::string::npos) safe = std::min(safe, at);
  // Hold back a suffix that a stop string starts with.
  for (const std::string& s : stops_) {
    for (size_t len = std::min(s.size() - (s.empty() ? 0 : 1), decoded.size()); len > 0; --len) {
      if (decoded.substr(decoded.size() - len) == std::string_view(s).substr(0, len)) {
        safe = std::min(safe, decoded.size() - len);
        break;
      }
    }
  }
  if (safe <= sent_) return "";
  std::string piece(decoded.substr(sent_, safe - sent_));
  sent_ = safe;
  return piece;
}

std::string TextStream::Finish(std::string_view final_text) {
  AFTUNE_CHECK(sent_ <= final_text.size());
  std::string rest(final_text.substr(sent_));
  sent_ = final_text.size();
  return rest;
}

}  // namespace aftune
