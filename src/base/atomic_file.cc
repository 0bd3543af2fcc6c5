#include "base/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace aftune {

namespace {
std::string ErrnoText() { return std::strerror(errno); }

void SyncDirectoryOf(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}
}  // namespace

Result<AtomicFileWriter> AtomicFileWriter::Create(const std::string& path, unsigned mode) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return Status::IOError(tmp + ": cannot create: " + ErrnoText());
  ::fchmod(fd, mode);  // the umask must not widen or narrow what was asked
  return AtomicFileWriter(path, std::move(tmp), fd);
}

AtomicFileWriter::AtomicFileWriter(AtomicFileWriter&& other) noexcept
    : path_(std::move(other.path_)), tmp_(std::move(other.tmp_)), fd_(other.fd_), size_(other.size_) {
  other.fd_ = -1;
}

AtomicFileWriter::~AtomicFileWriter() { Abandon(); }

void AtomicFileWriter::Abandon() {
  if (fd_ < 0) return;
  ::close(fd_);
  ::unlink(tmp_.c_str());
  fd_ = -1;
}

Status AtomicFileWriter::Append(std::string_view data) {
  AFTUNE_CHECK(fd_ >= 0);
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd_, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::IOError(tmp_ + ": write failed: " + ErrnoText());
    }
    done += static_cast<size_t>(n);
  }
  size_ += data.size();
  return Status::Ok();
}

Status AtomicFileWriter::Commit() {
  AFTUNE_CHECK(fd_ >= 0);
  if (::fsync(fd_) != 0) {
    Status st = Status::IOError(tmp_ + ": fsync failed: " + ErrnoText());
    Abandon();
    return st;
  }
  ::close(fd_);
  fd_ = -1;
  if (::rename(tmp_.c_str(), path_.c_str()) != 0) {
    Status st = Status::IOError(path_ + ": rename failed: " + ErrnoText());
    ::unlink(tmp_.c_str());
    return st;
  }
  SyncDirectoryOf(path_);
  return Status::Ok();
}

}  // namespace aftune
