// C2SP transparency-log checkpoints (c2sp.org/tlog-checkpoint): the text of
// the signed note that heads aftune's receipt log.
//
// Format (docs/formats.md, "Checkpoints"), every line ending in LF:
//
//   <origin>                       non-empty; a valid key name (see key.h)
//   <tree size>                    decimal u64, no sign, no leading zero
//   <base64 of the 32-byte root>   RFC 6962 root of the first <size> leaves
//   <extension line>…              optional, opaque, each non-empty
//
// Example (the empty log):
//
//   example.com/log
//   0
//   47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=
//
// aftune requires the origin to be a valid key name (the spec only
// RECOMMENDS it) so that the log's key name can equal its origin. Parsing is
// strict: anything FormatCheckpoint would not write is kCorruption.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "commit/sha256.h"

namespace aftune {

inline constexpr size_t kMaxCheckpointBytes = 64 * 1024;
inline constexpr size_t kMaxCheckpointExtensions = 64;

struct Checkpoint {
  std::string origin;
  uint64_t size = 0;
  Hash root{};
  std::vector<std::string> extensions;

  bool operator==(const Checkpoint&) const = default;
};

// The note text. kInvalidArgument when a field cannot be written (bad
// origin, empty or multi-line extension, too many extensions).
Result<std::string> FormatCheckpoint(const Checkpoint& c);

// Strict inverse of FormatCheckpoint (the text of an opened note).
Result<Checkpoint> ParseCheckpoint(std::string_view text);

}  // namespace aftune
