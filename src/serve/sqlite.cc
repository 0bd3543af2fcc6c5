#include "serve/sqlite.h"

#include <sqlite3.h>

namespace aftune {

namespace {
Status SqliteError(sqlite3* db, const std::string& what) {
  return Status::IOError("sqlite: " + what + ": " + (db ? sqlite3_errmsg(db) : "out of memory"));
}
}  // namespace

Result<Sqlite> Sqlite::Open(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    Status st = SqliteError(db, "open " + path);
    sqlite3_close(db);
    return st;
  }
  sqlite3_busy_timeout(db, 10000);
  return Sqlite(db);
}

Sqlite::~Sqlite() { sqlite3_close(db_); }

Status Sqlite::Exec(const std::string& sql) {
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) return SqliteError(db_, sql);
  return Status::Ok();
}

Result<SqliteStatement> Sqlite::Prepare(const std::string& sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) return SqliteError(db_, sql);
  return SqliteStatement(stmt, sql);
}

SqliteStatement::~SqliteStatement() { sqlite3_finalize(stmt_); }

void SqliteStatement::BindInt(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); }

void SqliteStatement::BindBlob(int i, std::span<const uint8_t> v) {
  sqlite3_bind_blob64(stmt_, i, v.data(), v.size(), SQLITE_TRANSIENT);
}

void SqliteStatement::BindText(int i, std::string_view v) {
  sqlite3_bind_text64(stmt_, i, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
}

Result<bool> SqliteStatement::Step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteError(sqlite3_db_handle(stmt_), sql_);
}

Status SqliteStatement::Run() {
  Result<bool> row = Step();
  Reset();
  if (!row.ok()) return row.status();
  if (*row) return Status::IOError("sqlite: " + sql_ + ": returned a row");
  return Status::Ok();
}

void SqliteStatement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

int64_t SqliteStatement::ColumnInt(int i) const { return sqlite3_column_int64(stmt_, i); }

bool SqliteStatement::ColumnIsNull(int i) const { return sqlite3_column_type(stmt_, i) == SQLITE_NULL; }

std::span<const uint8_t> SqliteStatement::ColumnBlob(int i) const {
  const void* p = sqlite3_column_blob(stmt_, i);
  int n = sqlite3_column_bytes(stmt_, i);
  return {static_cast<const uint8_t*>(p), static_cast<size_t>(n)};
}

std::string SqliteStatement::ColumnText(int i) const {
  std::span<const uint8_t> b = ColumnBlob(i);
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

}  // namespace aftune
