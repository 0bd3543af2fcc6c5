#include "base/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace aftune {

namespace {

class StringBytes final : public ByteSource {
 public:
  explicit StringBytes(std::string s) : s_(std::move(s)) {}
  std::string_view bytes() const override { return s_; }

 private:
  std::string s_;
};

class Mapping final : public ByteSource {
 public:
  Mapping(void* addr, size_t size) : addr_(addr), size_(size) {}
  ~Mapping() override {
    if (size_ > 0) ::munmap(addr_, size_);
  }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  std::string_view bytes() const override {
    return size_ == 0 ? std::string_view() : std::string_view(static_cast<const char*>(addr_), size_);
  }
  // The mapping is read-only and private, never written: dropping its pages
  // loses nothing (MADV_DONTNEED refaults them from the file).
  void ReleasePages(std::string_view range) const override {
    if (range.empty()) return;
    static const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
    const uintptr_t begin = reinterpret_cast<uintptr_t>(range.data()) & ~(page - 1);
    const uintptr_t end = reinterpret_cast<uintptr_t>(range.data()) + range.size();
    ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);  // a hint: a failure changes nothing
  }

 private:
  void* addr_;
  size_t size_;
};

}  // namespace

std::unique_ptr<ByteSource> OwnedBytes(std::string bytes) {
  return std::make_unique<StringBytes>(std::move(bytes));
}

Result<std::unique_ptr<ByteSource>> MapFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound(path + ": no such file");
    return Status::IOError(path + ": cannot open: " + std::strerror(errno));
  }
  struct stat info;
  if (::fstat(fd, &info) != 0) {
    Status st = Status::IOError(path + ": cannot stat: " + std::strerror(errno));
    ::close(fd);
    return st;
  }
  if (!S_ISREG(info.st_mode)) {
    ::close(fd);
    return Status::IOError(path + ": not a regular file");
  }
  const size_t size = static_cast<size_t>(info.st_size);
  void* addr = nullptr;
  if (size > 0) {
    addr = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (addr == MAP_FAILED) {
      Status st = Status::IOError(path + ": cannot map " + std::to_string(size) + " bytes: " + std::strerror(errno));
      ::close(fd);
      return st;
    }
  }
  ::close(fd);  // the mapping keeps the file open
  return std::unique_ptr<ByteSource>(std::make_unique<Mapping>(addr, size));
}

}  // namespace aftune
