// A file written piece by piece that appears at its path only when complete.
//
// The bytes go to a temporary file beside the target (PATH.tmp.<pid>); Commit
// fsyncs it, renames it over PATH and fsyncs the directory. Until Commit
// succeeds PATH keeps its old content (or stays absent); a writer destroyed
// without a successful Commit removes its temporary file. So a crash or an
// error never leaves a partial file looking whole under PATH.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace aftune {

class AtomicFileWriter {
 public:
  // Creates the temporary file with permission bits `mode` (the umask does
  // not apply). Errors name the temporary path.
  static Result<AtomicFileWriter> Create(const std::string& path, unsigned mode = 0644);

  AtomicFileWriter(AtomicFileWriter&& other) noexcept;
  AtomicFileWriter& operator=(AtomicFileWriter&&) = delete;
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;
  ~AtomicFileWriter();  // removes the temporary file unless committed

  // Appends `data`. REQUIRES: not yet committed.
  Status Append(std::string_view data);
  // Makes the file appear at its path. REQUIRES: called at most once.
  Status Commit();

  const std::string& path() const { return path_; }
  // Bytes appended so far.
  uint64_t size() const { return size_; }

 private:
  AtomicFileWriter(std::string path, std::string tmp, int fd) : path_(std::move(path)), tmp_(std::move(tmp)), fd_(fd) {}
  void Abandon();

  std::string path_, tmp_;
  int fd_ = -1;  // -1 once committed or abandoned
  uint64_t size_ = 0;
};

}  // namespace aftune
