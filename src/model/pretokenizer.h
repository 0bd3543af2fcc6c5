// tokenizer.json's `pre_tokenizer`: cuts each normalized stretch of text into
// the pieces ("words") the BPE model encodes one at a time.
//
// Supported: null (the whole stretch is one piece), Sequence, Split (String or
// Regex pattern; behaviors Removed, Isolated, MergedWithPrevious,
// MergedWithNext, Contiguous; invert), ByteLevel (add_prefix_space, use_regex
// with GPT-2's pattern), Metaspace (replacement, prepend_scheme or the older
// add_prefix_space, split), Digits (individual_digits). Anything else is
// refused naming its JSON path. Empty pieces are dropped, as HF does.
#pragma once

#include <string>
#include <vector>

#include "model/text_pattern.h"
#include "model/tokenizer_json.h"

namespace aftune {

// How Split turns delimiters (pattern matches, or the rest with invert) and
// the stretches between them into pieces; HF's SplitDelimiterBehavior.
enum class SplitBehavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

class PreTokenizer {
 public:
  static Result<PreTokenizer> FromJson(const tokjson::Json& j, const std::string& source, const std::string& path);

  // The pieces of `text`. `at_text_start`: the stretch begins the whole input
  // (what Metaspace's prepend_scheme "first" looks at).
  // REQUIRES: text is well-formed UTF-8.
  std::vector<std::string> Apply(std::string text, bool at_text_start) const;

 private:
  enum class Kind { kSplit, kByteLevel, kMetaspace, kDigits };
  enum class Prepend { kAlways, kFirst, kNever };
  struct Step {
    Kind kind{};
    std::optional<TextPattern> pattern;  // Split; ByteLevel with use_regex
    SplitBehavior behavior = SplitBehavior::kIsolated;
    bool invert = false;
    bool add_prefix_space = false;  // ByteLevel
    std::string replacement;        // Metaspace
    Prepend prepend = Prepend::kAlways;
    bool split = true;              // Metaspace
    bool individual_digits = false;  // Digits
  };
  Status Add(const tokjson::Json& j, const std::string& source, const std::string& path);
  static void ApplyStep(const Step& s, std::vector<std::string>* pieces, bool at_text_start);

  std::vector<Step> steps_;
};

}  // namespace aftune
