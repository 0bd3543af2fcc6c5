// The added tokens of tokenizer.json (`added_tokens`): strings matched in the
// text before the normalizer and the model run, each becoming its own id, as
// HF tokenizers' AddedVocabulary does. Matching is leftmost-longest; options:
//   single_word  match only where neither neighbour is a word character (\w)
//   lstrip       the match takes the whitespace on its left
//   rstrip       the match takes the whitespace on its right
//   normalized   match in the normalized text rather than the raw text
//   special      skipped when decoding
// Every stretch between matches goes on through the pipeline.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "model/unicode_regex.h"

namespace aftune {

struct AddedToken {
  int32_t id = -1;
  std::string content;
  bool special = false, lstrip = false, rstrip = false, single_word = false, normalized = false;
};

// A [begin, end) stretch of text and the added token it is (-1 for text that
// is not an added token).
struct TextSplit {
  size_t begin, end;
  int32_t id;
};

class AddedTokenMatcher {
 public:
  // Matches `patterns[i]` as `tokens[i]` (the content, or its normalized form
  // for normalized tokens). Empty patterns never match. REQUIRES: equal sizes;
  // every pattern well-formed UTF-8; the tokens outlive the matcher.
  AddedTokenMatcher(std::vector<const AddedToken*> tokens, const std::vector<std::string>& patterns);

  // `text` cut into consecutive splits covering all of it (none for "").
  // REQUIRES: text is well-formed UTF-8.
  std::vector<TextSplit> Split(std::string_view text) const;

 private:
  // The longest pattern starting at text[i]: its index, or -1.
  int32_t LongestAt(std::string_view text, size_t i, size_t* len) const;

  std::vector<const AddedToken*> tokens_;
  // A byte trie: (node << 8 | byte) -> child; node 0 is the root.
  std::unordered_map<uint64_t, int32_t> children_;
  std::vector<int32_t> terminal_;  // by node: the pattern ending there, or -1
  UnicodeRegex word_start_, word_end_, space_start_, space_end_;
};

}  // namespace aftune
