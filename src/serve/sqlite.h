// A thin RAII layer over SQLite's C API for the receipt log: a connection
// and prepared statements whose errors come back as Status (kIOError naming
// the statement and SQLite's message).
//
// Thread safety: a Sqlite connection and its statements are used by one
// thread at a time (the caller locks).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "base/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace aftune {

class SqliteStatement;

class Sqlite {
 public:
  // Opens (creating when absent) the database file at `path`.
  static Result<Sqlite> Open(const std::string& path);
  Sqlite(Sqlite&& other) noexcept : db_(other.db_) { other.db_ = nullptr; }
  Sqlite& operator=(Sqlite&&) = delete;
  Sqlite(const Sqlite&) = delete;
  ~Sqlite();

  // Runs one or more statements that return no rows.
  Status Exec(const std::string& sql);
  Result<SqliteStatement> Prepare(const std::string& sql);

 private:
  explicit Sqlite(sqlite3* db) : db_(db) {}
  sqlite3* db_;
};

// A prepared statement. Bind parameters are 1-based, columns 0-based.
class SqliteStatement {
 public:
  SqliteStatement(SqliteStatement&& other) noexcept : stmt_(other.stmt_), sql_(std::move(other.sql_)) {
    other.stmt_ = nullptr;
  }
  SqliteStatement& operator=(SqliteStatement&&) = delete;
  SqliteStatement(const SqliteStatement&) = delete;
  ~SqliteStatement();

  void BindInt(int i, int64_t v);
  // The blob is copied (SQLITE_TRANSIENT).
  void BindBlob(int i, std::span<const uint8_t> v);
  void BindText(int i, std::string_view v);
  // Runs one step: true when a row is ready, false when done.
  Result<bool> Step();
  // Step() expecting no row, then Reset().
  Status Run();
  // Resets the statement and clears its bindings for the next use.
  void Reset();

  int64_t ColumnInt(int i) const;
  bool ColumnIsNull(int i) const;
  // The column's bytes; valid until the next Step/Reset.
  std::span<const uint8_t> ColumnBlob(int i) const;
  std::string ColumnText(int i) const;

 private:
  friend class Sqlite;
  SqliteStatement(sqlite3_stmt* stmt, std::string sql) : stmt_(stmt), sql_(std::move(sql)) {}
  sqlite3_stmt* stmt_;
  std::string sql_;
};

}  // namespace aftune
