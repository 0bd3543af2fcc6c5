// generation_config.json, as transformers' GenerationConfig reads it, for
// what aftune uses of it:
//
//   "eos_token_id"   an integer or a list of integers: generation stops on
//                    each (Llama 3.1: [128001, 128008, 128009])
//   "bos_token_id", "pad_token_id"   integers (or null)
//   "do_sample" (bool), "temperature", "top_p" (numbers), "top_k" (integer),
//   "max_new_tokens" (integer): the model's default sampling parameters
//
// Other keys (transformers_version, ...) are ignored; a key above of the
// wrong type is an error naming it. A missing file is an empty config.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace aftune {

struct GenerationConfig {
  std::vector<int64_t> eos_token_ids;
  std::optional<int64_t> bos_token_id, pad_token_id;
  std::optional<bool> do_sample;
  std::optional<double> temperature, top_p;
  std::optional<int64_t> top_k, max_new_tokens;
};

// `source` names the file in errors ("field 'eos_token_id[1]' must be a
// non-negative integer").
Result<GenerationConfig> ParseGenerationConfig(std::string_view json, const std::string& source);
// DIR/generation_config.json, or an empty config when there is none.
Result<GenerationConfig> LoadGenerationConfig(const std::string& dir);

}  // namespace aftune
