// A thin RAII layer over libpq for the receipt log: a connection, the
// parameters of a statement and its result, errors as Status (kIOError
// naming the statement and the server's message).
//
// Parameters are sent and rows received in PostgreSQL's binary format: a
// bytea or text value is its bytes, an int8 is 8 bytes big-endian, an array
// is the server's array_send layout (see postgres.cc). No value is ever
// spliced into SQL text.
//
// Thread safety: a connection and its results are used by one thread at a
// time (the caller locks).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

struct pg_conn;
struct pg_result;

namespace aftune {

// True for a libpq connection URI (postgresql://… or postgres://…).
bool IsPostgresUri(std::string_view db);

// `uri` with the password (user:PASSWORD@ or password=…) replaced by "***",
// for messages and logs.
std::string RedactPassword(std::string_view uri);

// A statement's parameters, $1, $2, … in the order added.
class PgParams {
 public:
  PgParams& Int64(int64_t v);
  // A bytea or text parameter: the bytes as they are.
  PgParams& Bytes(std::string_view v);
  PgParams& Bytes(std::span<const uint8_t> v);
  PgParams& Int64Array(std::span<const uint64_t> v);
  PgParams& ByteaArray(std::span<const std::string_view> v);

  size_t size() const { return values_.size(); }
  const std::string& value(size_t i) const { return values_[i]; }

 private:
  std::vector<std::string> values_;
};

// The rows of one statement, in binary format. Rows and columns are 0-based.
class PgResult {
 public:
  int rows() const;
  bool IsNull(int row, int col) const;
  // The value's bytes; valid while the result lives.
  std::span<const uint8_t> Bytes(int row, int col) const;
  std::string Text(int row, int col) const;
  // An int8 column. kCorruption when the value is not 8 bytes.
  Result<int64_t> Int64(int row, int col) const;
  // The command's tag ("INSERT 0 3", "COMMIT", "ROLLBACK", …).
  std::string CommandTag() const;

 private:
  friend class PgConnection;
  struct Clear {
    void operator()(pg_result* r) const;
  };
  explicit PgResult(pg_result* r) : result_(r) {}
  std::unique_ptr<pg_result, Clear> result_;
};

class PgConnection {
 public:
  // Connects to `conninfo` (a URI or key=value string). kIOError naming the
  // server (password redacted) when it cannot.
  static Result<PgConnection> Open(const std::string& conninfo);
  PgConnection(PgConnection&& other) noexcept : conn_(other.conn_) { other.conn_ = nullptr; }
  PgConnection& operator=(PgConnection&&) = delete;
  PgConnection(const PgConnection&) = delete;
  ~PgConnection();

  // Runs one or more statements sent as text (the simple query protocol);
  // returns the last one's result.
  Result<PgResult> Exec(const std::string& sql);
  // Runs one statement with `params`; rows in binary format.
  Result<PgResult> Query(const std::string& sql, const PgParams& params = {});

  // True when the connection to the server is lost (e.g. the server
  // restarted, or ended this session).
  bool lost() const;
  // Reconnects with the same parameters.
  Status Reconnect();

 private:
  explicit PgConnection(pg_conn* conn) : conn_(conn) {}
  Result<PgResult> Check(pg_result* r, const std::string& sql);
  pg_conn* conn_;
};

}  // namespace aftune
