// One strict reader for JSON text that comes from outside the process: files a
// user or a provider hands us, HTTP bodies, trace lines. nlohmann's parser
// alone accepts a key repeated within an object (keeping the last silently),
// nesting as deep as memory allows, and stops at a raw NUL byte as if the
// input ended there; this reader refuses all three, with a size cap.
//
// Refused (each a Status naming `source` and what was wrong):
//   - more than max_bytes bytes;
//   - a raw NUL byte anywhere ("NUL byte at byte <offset>");
//   - text that is not one JSON value (RFC 8259; no comments, no trailing
//     bytes but whitespace);
//   - objects and arrays nested more than max_depth levels;
//   - a key appearing twice in one object, named by its path from the root:
//     "key 'training.lora.r' appears twice", "key 'messages[0].role' …".
//
// What the value must hold (types, required and unknown keys) is the caller's
// business; this reader only guarantees one meaning per text.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string_view>

#include "base/status.h"

namespace aftune {

struct StrictJsonOptions {
  size_t max_bytes = size_t{64} << 20;
  int max_depth = 64;
  // kCorruption for bytes that should follow a format (files, provider
  // answers); kInvalidArgument for a caller's request or configuration.
  Status::Code code = Status::Code::kCorruption;
};

// Parses `text` into Json (nlohmann::json or nlohmann::ordered_json); errors
// read "<source>: <what>" (just "<what>" when source is empty).
template <typename Json>
Result<Json> ParseStrictJsonAs(std::string_view text, std::string_view source, const StrictJsonOptions& options = {});

inline Result<nlohmann::json> ParseStrictJson(std::string_view text, std::string_view source,
                                              const StrictJsonOptions& options = {}) {
  return ParseStrictJsonAs<nlohmann::json>(text, source, options);
}

}  // namespace aftune
