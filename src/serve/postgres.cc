#include "serve/postgres.h"

#include <libpq-fe.h>

#include <cstring>

namespace aftune {

namespace {

// The OIDs of the element types of the arrays sent (pg_type.dat).
constexpr uint32_t kInt8Oid = 20;
constexpr uint32_t kByteaOid = 17;

void PutU32(std::string& out, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<char>((v >> s) & 0xff));
}

void PutU64(std::string& out, uint64_t v) {
  for (int s = 56; s >= 0; s -= 8) out.push_back(static_cast<char>((v >> s) & 0xff));
}

// array_send's layout of a one-dimensional array without NULLs: ndim,
// has-nulls flag, element type OID, then per dimension its length and lower
// bound (1), then each element as its length and bytes; all integers
// big-endian. An empty array has no dimension.
std::string ArrayHeader(uint32_t element_oid, size_t n) {
  std::string out;
  PutU32(out, n == 0 ? 0 : 1);
  PutU32(out, 0);
  PutU32(out, element_oid);
  if (n > 0) {
    PutU32(out, static_cast<uint32_t>(n));
    PutU32(out, 1);
  }
  return out;
}

std::string TrimmedError(const char* message) {
  std::string m = message ? message : "out of memory";
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  return m;
}

void IgnoreNotice(void*, const char*) {}

}  // namespace

bool IsPostgresUri(std::string_view db) { return db.starts_with("postgresql://") || db.starts_with("postgres://"); }

std::string RedactPassword(std::string_view uri) {
  std::string out(uri);
  const size_t scheme = out.find("://");
  if (scheme != std::string::npos) {
    const size_t start = scheme + 3;
    const size_t end = std::min(out.find_first_of("/?", start), out.size());
    const size_t at = out.rfind('@', end);
    if (at != std::string::npos && at >= start) {
      const size_t colon = out.find(':', start);
      if (colon < at) out.replace(colon + 1, at - colon - 1, "***");
    }
  }
  for (size_t p = out.find("password="); p != std::string::npos; p = out.find("password=", p + 1)) {
    const size_t value = p + std::strlen("password=");
    const size_t end = std::min(out.find_first_of("& ", value), out.size());
    out.replace(value, end - value, "***");
  }
  return out;
}

PgParams& PgParams::Int64(int64_t v) {
  std::string bytes;
  PutU64(bytes, static_cast<uint64_t>(v));
  values_.push_back(std::move(bytes));
  return *this;
}

PgParams& PgParams::Bytes(std::string_view v) {
  values_.emplace_back(v);
  return *this;
}

PgParams& PgParams::Bytes(std::span<const uint8_t> v) {
  values_.emplace_back(reinterpret_cast<const char*>(v.data()), v.size());
  return *this;
}

PgParams& PgParams::Int64Array(std::span<const uint64_t> v) {
  std::string out = ArrayHeader(kInt8Oid, v.size());
  for (uint64_t x : v) {
    PutU32(out, 8);
    PutU64(out, x);
  }
  values_.push_back(std::move(out));
  return *this;
}

PgParams& PgParams::ByteaArray(std::span<const std::string_view> v) {
  std::string out = ArrayHeader(kByteaOid, v.size());
  for (std::string_view x : v) {
    PutU32(out, static_cast<uint32_t>(x.size()));
    out.append(x);
  }
  values_.push_back(std::move(out));
  return *this;
}

void PgResult::Clear::operator()(pg_result* r) const { PQclear(r); }

int PgResult::rows() const { return PQntuples(result_.get()); }

bool PgResult::IsNull(int row, int col) const { return PQgetisnull(result_.get(), row, col) != 0; }

std::span<const uint8_t> PgResult::Bytes(int row, int col) const {
  const char* p = PQgetvalue(result_.get(), row, col);
  return {reinterpret_cast<const uint8_t*>(p), static_cast<size_t>(PQgetlength(result_.get(), row, col))};
}

std::string PgResult::Text(int row, int col) const {
  std::span<const uint8_t> b = Bytes(row, col);
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

Result<int64_t> PgResult::Int64(int row, int col) const {
  std::span<const uint8_t> b = Bytes(row, col);
  if (b.size() != 8 || IsNull(row, col))
    return Status::Corruption("postgresql: column " + std::to_string(col) + " is not an int8");
  uint64_t v = 0;
  for (uint8_t x : b) v = (v << 8) | x;
  return static_cast<int64_t>(v);
}

std::string PgResult::CommandTag() const { return PQcmdStatus(result_.get()); }

Result<PgConnection> PgConnection::Open(const std::string& conninfo) {
  pg_conn* conn = PQconnectdb(conninfo.c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    Status st = Status::IOError("postgresql: cannot connect to " + RedactPassword(conninfo) + ": " +
                                TrimmedError(conn ? PQerrorMessage(conn) : nullptr));
    PQfinish(conn);
    return st;
  }
  PQsetNoticeProcessor(conn, IgnoreNotice, nullptr);
  return PgConnection(conn);
}

PgConnection::~PgConnection() {
  if (conn_) PQfinish(conn_);
}

Result<PgResult> PgConnection::Check(pg_result* r, const std::string& sql) {
  PgResult result(r);
  const ExecStatusType status = PQresultStatus(r);
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return result;
  std::string what = r ? TrimmedError(PQresultErrorMessage(r)) : "";
  if (what.empty()) what = TrimmedError(PQerrorMessage(conn_));
  const std::string statement = sql.size() > 120 ? sql.substr(0, 117) + "..." : sql;
  return Status::IOError("postgresql: " + statement + ": " + what);
}

Result<PgResult> PgConnection::Exec(const std::string& sql) { return Check(PQexec(conn_, sql.c_str()), sql); }

Result<PgResult> PgConnection::Query(const std::string& sql, const PgParams& params) {
  std::vector<const char*> values;
  std::vector<int> lengths, formats;
  for (size_t i = 0; i < params.size(); ++i) {
    values.push_back(params.value(i).data());
    lengths.push_back(static_cast<int>(params.value(i).size()));
    formats.push_back(1);
  }
  return Check(PQexecParams(conn_, sql.c_str(), static_cast<int>(params.size()), nullptr, values.data(),
                            lengths.data(), formats.data(), /*resultFormat=*/1),
               sql);
}

bool PgConnection::lost() const { return PQstatus(conn_) != CONNECTION_OK; }

Status PgConnection::Reconnect() {
  PQreset(conn_);
  if (PQstatus(conn_) != CONNECTION_OK)
    return Status::IOError("postgresql: cannot reconnect: " + TrimmedError(PQerrorMessage(conn_)));
  return Status::Ok();
}

}  // namespace aftune
