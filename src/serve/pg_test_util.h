// Test-only: a fresh PostgreSQL database per test, for the tests of the
// receipt log shared by serving replicas (suites and parameters named
// "Postgres", which ctest runs with its `postgres` fixture: tests/CMakeLists.txt).
//
// The cluster is the one in the socket directory $AFTUNE_TEST_PG (started
// by that fixture with tests/postgres/cluster.sh); without the variable, as
// when a test binary is run by hand, the process starts a cluster of its
// own and stops it at exit. No PostgreSQL is a test failure, never a skip.
// Included by src/serve/*_test.cc and src/cli/*_test.cc only.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "serve/postgres.h"

namespace aftune::testing {

// Runs a shell command; its exit status and output (both streams).
inline std::pair<int, std::string> RunShell(const std::string& command) {
  std::string out;
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (!p) return {-1, "popen failed"};
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  return {::pclose(p), out};
}

// The socket directory of the test cluster; "" (after a test failure
// saying why) when none can be had.
inline std::string PgTestClusterDir() {
  if (const char* dir = std::getenv("AFTUNE_TEST_PG"); dir && *dir) return dir;
  // A cluster of this process's own, stopped when the process exits.
  struct OwnCluster {
    std::string dir = "/tmp/aftune-pg-own-" + std::to_string(::getpid());
    std::string script = std::string(AFTUNE_SOURCE_DIR) + "/tests/postgres/cluster.sh";
    std::pair<int, std::string> started = RunShell(script + " start " + dir);
    ~OwnCluster() {
      if (started.first == 0) RunShell(script + " stop " + dir);
    }
  };
  static OwnCluster own;
  if (own.started.first != 0) {
    ADD_FAILURE() << "no PostgreSQL server for this test: " << own.started.second;
    return "";
  }
  return own.dir;
}

// The URI of database `name` in the test cluster.
inline std::string PgTestUri(const std::string& cluster_dir, const std::string& name) {
  return "postgresql:///" + name + "?host=" + cluster_dir + "&user=aftune";
}

// A database of its own for one test, dropped when destroyed.
class PgTestDatabase {
 public:
  explicit PgTestDatabase(const std::string& tag) {
    static std::atomic<int> counter{0};
    cluster_ = PgTestClusterDir();
    if (cluster_.empty()) return;
    name_ = "aftune_" + tag + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
    Result<PgConnection> admin = PgConnection::Open(PgTestUri(cluster_, "postgres"));
    if (!admin.ok()) {
      ADD_FAILURE() << admin.status().ToString();
      return;
    }
    Result<PgResult> created = admin->Exec("CREATE DATABASE " + name_);
    if (!created.ok()) {
      ADD_FAILURE() << created.status().ToString();
      return;
    }
    uri_ = PgTestUri(cluster_, name_);
  }
  ~PgTestDatabase() {
    if (uri_.empty()) return;
    Result<PgConnection> admin = PgConnection::Open(PgTestUri(cluster_, "postgres"));
    if (admin.ok()) (void)admin->Exec("DROP DATABASE " + name_ + " WITH (FORCE)");
  }
  PgTestDatabase(const PgTestDatabase&) = delete;
  PgTestDatabase& operator=(const PgTestDatabase&) = delete;

  // Empty when the database could not be created (the test has failed).
  const std::string& uri() const { return uri_; }

  // Runs `sql` in the database, as its owner.
  Status Exec(const std::string& sql) const {
    Result<PgConnection> conn = PgConnection::Open(uri_);
    if (!conn.ok()) return conn.status();
    return conn->Exec(sql).status();
  }

 private:
  std::string cluster_, name_, uri_;
};

}  // namespace aftune::testing
