// An exclusive lock on a receipt log database for one server's lifetime: a
// second server on the same database refuses to start, naming the holder
// (without it, both would start and the second fail every append).
//
// The lock is flock(2) on DB + ".lock", which holds the holder's pid and
// start time as text; the kernel drops it when the process ends, so a
// crashed server leaves no stale lock. The database file's own locks are
// SQLite's and are left alone.
#pragma once

#include <string>

#include "base/status.h"

namespace aftune {

class DbLock {
 public:
  // IOError naming the lock file and its holder when held.
  static Result<DbLock> Acquire(const std::string& db_path);
  DbLock(DbLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  DbLock& operator=(DbLock&&) = delete;
  ~DbLock();

 private:
  explicit DbLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace aftune
