// Whole-file reads and crash-safe writes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace aftune {

// Reads the whole file. Errors name the path.
Result<std::string> ReadFile(const std::string& path);

// Writes `data` to `path` atomically: a temporary file beside it, fsync, rename,
// fsync of the directory. After a crash `path` holds either its old content or
// all of `data`, never a part. `mode` is the new file's permission bits.
Status WriteFileAtomic(const std::string& path, std::string_view data, unsigned mode = 0644);

// Creates the directory and its parents when missing.
Status MakeDirs(const std::string& path);

bool FileExists(const std::string& path);

}  // namespace aftune
