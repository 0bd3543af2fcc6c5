#include "model/added_tokens.h"

namespace aftune {

namespace {

UnicodeRegex MustCompile(std::string_view pattern) {
  Result<UnicodeRegex> re = UnicodeRegex::Compile(pattern, "added-token matcher");
  AFTUNE_CHECK(re.ok());  // constant patterns
  return std::move(re).value();
}

}  // namespace

AddedTokenMatcher::AddedTokenMatcher(std::vector<const AddedToken*> tokens, const std::vector<std::string>& patterns)
    : tokens_(std::move(tokens)),
      word_start_(MustCompile(R"(^\w)")),
      word_end_(MustCompile(R"(\w\z)")),
      space_start_(MustCompile(R"(^\s+)")),
      space_end_(MustCompile(R"(\s+\z)")) {
  AFTUNE_CHECK(tokens_.size() == patterns.size());
  terminal_.push_back(-1);
  for (size_t p = 0; p < patterns.size(); ++p) {
    if (patterns[p].empty()) continue;
    int32_t node = 0;
    for (unsigned char c : patterns[p]) {
      const uint64_t key = (static_cast<uint64_t>(node) << 8) | c;
      auto it = children_.find(key);
      if (it == children_.end()) {
        it = children_.emplace(key, static_cast<int32_t>(terminal_.size())).first;
        terminal_.push_back(-1);
      }
      node = it->second;
    }
    // Two tokens with the same pattern: the first listed wins.
    if (terminal_[node] < 0) terminal_[node] = static_cast<int32_t>(p);
  }
}

int32_t AddedTokenMatcher::LongestAt(std::string_view text, size_t i, size_t* len) const {
  int32_t node = 0, best = -1;
  for (size_t k = i; k < text.size(); ++k) {
    auto it = children_.find((static_cast<uint64_t>(node) << 8) | static_cast<unsigned char>(text[k]));
    if (it == children_.end()) break;
    node = it->second;
    if (terminal_[node] >= 0) {
      best = terminal_[node];
      *len = k + 1 - i;
    }
  }
  return best;
}

std::vector<TextSplit> AddedTokenMatcher::Split(std::string_view text) const {
  std::vector<TextSplit> out;
  size_t start_offset = 0;  // end of the last match
  if (!children_.empty()) {
    for (size_t i = 0; i < text.size();) {
      size_t len = 0;
      const int32_t p = LongestAt(text, i, &len);
      if (p < 0) {
        ++i;
        continue;
      }
      const AddedToken& tok = *tokens_[p];
      size_t start = i, stop = i + len;
      if (tok.single_word) {
        const bool word_before = start > 0 && !word_end_.Matches(text.substr(0, start)).empty();
        const bool word_after = stop < text.size() && !word_start_.Matches(text.substr(stop)).empty();
        if (word_before || word_after) {
          // Discarded; like HF's non-overlapping search, resume after it.
          i = stop;
          continue;
        }
      }
      if (tok.lstrip) {
        const auto m = space_end_.Matches(text.substr(start_offset, start - start_offset));
        if (!m.empty()) start = start_offset + m.front().first;
      }
      if (tok.rstrip) {
        const auto m = space_start_.Matches(text.substr(stop));
        if (!m.empty()) stop += m.front().second;
      }
      if (start_offset < start) out.push_back({start_offset, start, -1});
      out.push_back({start, stop, tok.id});
      start_offset = stop;
      i = stop;
    }
  }
  if (start_offset < text.size()) out.push_back({start_offset, text.size(), -1});
  return out;
}

}  // namespace aftune
