#include "base/file.h"

#include "base/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

namespace aftune {

namespace {
std::string ErrnoText() { return std::strerror(errno); }

// At most max_bytes + 1 bytes of an open file: enough to know it is too long.
Result<std::string> ReadAtMost(int fd, const std::string& path, size_t max_bytes) {
  std::string out;
  char buf[1 << 12];
  while (out.size() <= max_bytes) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::IOError(path + ": read failed: " + ErrnoText());
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

Result<std::string> ReadOwnerOnlyFd(int fd, const std::string& path, std::string_view what, size_t max_bytes) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return Status::IOError(path + ": cannot stat: " + ErrnoText());
  if (!S_ISREG(st.st_mode)) return Status::InvalidArgument(path + ": the " + std::string(what) + " is not a regular file");
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return Status::InvalidArgument(path + ": the " + std::string(what) + " has mode " + mode +
                                   ", readable by group or others; refusing it (chmod 600 the file)");
  }
  AFTUNE_ASSIGN_OR_RETURN(std::string text, ReadAtMost(fd, path, max_bytes));
  if (text.size() > max_bytes) {
    return Status::Corruption(path + ": the " + std::string(what) + " is longer than " + std::to_string(max_bytes) +
                              " bytes");
  }
  return text;
}

}  // namespace

Result<std::string> ReadFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound(path + ": no such file");
    return Status::IOError(path + ": cannot open: " + ErrnoText());
  }
  std::string out;
  struct stat info;
  if (::fstat(fd, &info) == 0 && info.st_size > 0) out.reserve(static_cast<size_t>(info.st_size));
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      Status st = Status::IOError(path + ": read failed: " + ErrnoText());
      ::close(fd);
      return st;
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

Result<std::string> ReadOwnerOnlyFile(const std::string& path, std::string_view what, size_t max_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound(path + ": no such file");
    return Status::IOError(path + ": cannot open: " + ErrnoText());
  }
  Result<std::string> text = ReadOwnerOnlyFd(fd, path, what, max_bytes);
  ::close(fd);
  return text;
}

Status WriteFileAtomic(const std::string& path, std::string_view data, unsigned mode) {
  AFTUNE_ASSIGN_OR_RETURN(AtomicFileWriter out, AtomicFileWriter::Create(path, mode));
  AFTUNE_RETURN_IF_ERROR(out.Append(data));
  return out.Commit();
}

Status MakeDirs(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return Status::IOError(path + ": cannot create directory: " + ec.message());
  return Status::Ok();
}

bool FileExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace aftune
