// tokenizer.json's `post_processor`: what encode(text, add_special_tokens=True)
// adds around the ids of one sequence. Supported: null (nothing), Sequence,
// ByteLevel (changes only offsets, so nothing here), TemplateProcessing (its
// "single" template: SpecialToken items contribute their ids, the Sequence
// item "A" the text's ids; Llama 3's BOS). Anything else is refused naming
// its JSON path.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/tokenizer_json.h"

namespace aftune {

class PostProcessor {
 public:
  // `max_id`: ids of special tokens above it are refused.
  static Result<PostProcessor> FromJson(const tokjson::Json& j, int64_t max_id, const std::string& source,
                                        const std::string& path);

  std::vector<int32_t> Apply(const std::vector<int32_t>& ids) const;

 private:
  Status Add(const tokjson::Json& j, int64_t max_id, const std::string& source, const std::string& path);

  // The single-sequence template; -1 stands for the sequence. Empty: ids unchanged.
  std::vector<int32_t> single_;
  bool has_template_ = false;
};

}  // namespace aftune
