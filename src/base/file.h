// Whole-file reads and crash-safe writes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace aftune {

// Reads the whole file. Errors name the path.
Result<std::string> ReadFile(const std::string& path);

// Reads a file that holds secrets (a private key, API keys, audit tokens):
// refused (kInvalidArgument) unless it is a regular file that neither group
// nor others may access in any way (mode & 077 == 0), the message naming the
// path, `what` and the mode; kCorruption when it is longer than `max_bytes`.
// The checks are made on the open file, so a swap after them is no use.
Result<std::string> ReadOwnerOnlyFile(const std::string& path, std::string_view what, size_t max_bytes);

// The cap of a file listing many secrets (API keys, audit tokens).
inline constexpr size_t kMaxSecretsFileBytes = 1 << 20;

// Writes `data` to `path` atomically: a temporary file beside it, fsync, rename,
// fsync of the directory. After a crash `path` holds either its old content or
// all of `data`, never a part. `mode` is the new file's permission bits.
Status WriteFileAtomic(const std::string& path, std::string_view data, unsigned mode = 0644);

// Creates the directory and its parents when missing.
Status MakeDirs(const std::string& path);

bool FileExists(const std::string& path);

}  // namespace aftune
