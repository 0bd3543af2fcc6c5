#include "serve/db_lock.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "serve/serve_test_util.h"

namespace aftune {
namespace {

TEST(DbLock, ASecondHolderIsRefusedNamingTheFirst) {
  const std::string db = testing::ServeTestDir("lock") + "/log.db";
  {
    Result<DbLock> first = DbLock::Acquire(db);
    ASSERT_TRUE(first.ok()) << first.status().ToString();
    Result<DbLock> second = DbLock::Acquire(db);  // another open file: refused as another process would be
    ASSERT_FALSE(second.ok());
    EXPECT_NE(second.status().message().find("in use by another server (pid " + std::to_string(::getpid())),
              std::string::npos)
        << second.status().ToString();
  }
  EXPECT_TRUE(DbLock::Acquire(db).ok());  // released with its holder
}

}  // namespace
}  // namespace aftune
