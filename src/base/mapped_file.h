// Read-only memory maps of whole files.
//
// A model's weight files are mapped rather than read: pages are brought in
// only when a tensor's bytes are first touched, so opening a file and parsing
// its header reads the header alone, and loading one layer-block reads that
// block's bytes alone. The kernel may drop clean pages under memory pressure
// and read them again later; they never count twice.
//
// Trust: the mapping shows the file as it is now. A file truncated or
// rewritten in place while mapped changes what the mapping shows (or raises
// SIGBUS on pages past a new end), so weight files must not be modified in
// place while in use; aftune itself only ever replaces files by rename.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"

namespace aftune {

// Bytes owned by something that keeps them at a fixed address for its whole
// life (a mapping, a heap string): views into them survive moves of the owner.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  virtual std::string_view bytes() const = 0;
  // A hint that `range` (within bytes()) will not be read again soon: a
  // mapping drops its pages from this process's resident set (the page cache
  // keeps them; a later read faults the same bytes back in), so reading a
  // large mapped file once costs no more resident memory than a page or so.
  // Bytes held in memory ignore it. Safe while other threads read `range`.
  virtual void ReleasePages(std::string_view /*range*/) const {}
};

// A ByteSource holding a string (bytes already in memory).
std::unique_ptr<ByteSource> OwnedBytes(std::string bytes);

// Maps the whole file at `path` read-only (an empty file maps to no bytes).
// Errors name the path: NotFound when it does not exist, IOError otherwise.
Result<std::unique_ptr<ByteSource>> MapFile(const std::string& path);

}  // namespace aftune
