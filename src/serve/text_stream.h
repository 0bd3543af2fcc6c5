// The text of a streamed completion, released piece by piece so that the
// pieces joined are exactly the non-streamed answer's text:
//  - a trailing incomplete UTF-8 sequence is held back until the bytes that
//    complete (or break) it arrive, so no piece ends inside a character;
//  - text that could be the start of a stop string is held back until it is
//    known not to be one (the answer ends before a stop string).
// Decoding is not assumed incremental: each call gets the decode of every
// token so far.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace aftune {

class TextStream {
 public:
  explicit TextStream(std::vector<std::string> stops) : stops_(std::move(stops)) {}

  // `decoded`: the text of every token sampled so far. Returns the new text
  // that is safe to send (maybe empty).
  std::string Push(std::string_view decoded);
  // `final_text`: the answer's text (GenerationResult::text). Returns what
  // was not yet sent. REQUIRES: what was sent is a prefix of final_text.
  std::string Finish(std::string_view final_text);

 private:
  std::vector<std::string> stops_;
  size_t sent_ = 0;  // bytes released so far
};

// The length of `text` without a trailing incomplete UTF-8 sequence (a lead
// byte followed by fewer continuation bytes than it announces).
size_t CompleteUtf8Prefix(std::string_view text);

}  // namespace aftune
