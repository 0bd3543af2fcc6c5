#include "serve/pg_log_store.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <utility>

#include "commit/encoding.h"
#include "serve/postgres.h"

namespace aftune {

namespace {

constexpr const char* kCreateTables =
    "CREATE TABLE meta(key text PRIMARY KEY, value bytea NOT NULL);"
    "CREATE TABLE leaves(idx bigint PRIMARY KEY, data bytea NOT NULL);"
    "CREATE TABLE hashes(idx bigint PRIMARY KEY, hash bytea NOT NULL);";

const LogSchema& PgLogSchema() {
  static const LogSchema schema = {
      {"meta", {{"key", "text", true}, {"value", "bytea", false}}},
      {"leaves", {{"idx", "bigint", true}, {"data", "bytea", false}}},
      {"hashes", {{"idx", "bigint", true}, {"hash", "bytea", false}}},
  };
  return schema;
}

// The tables of the current schema with their columns, in order.
constexpr const char* kSchemaQuery =
    "SELECT c.table_name::text, c.column_name::text, c.data_type::text, EXISTS ("
    "  SELECT 1 FROM information_schema.table_constraints t"
    "  JOIN information_schema.key_column_usage k"
    "    ON k.constraint_schema = t.constraint_schema AND k.constraint_name = t.constraint_name"
    "  WHERE t.constraint_type = 'PRIMARY KEY' AND t.table_schema = c.table_schema"
    "    AND t.table_name = c.table_name AND k.column_name = c.column_name)"
    " FROM information_schema.columns c WHERE c.table_schema = current_schema()"
    " ORDER BY c.table_name, c.ordinal_position";

// Serializes the creation of a new log's tables by concurrent openers (an
// advisory lock held to the end of the creating transaction): "aftunelg".
constexpr int64_t kCreateLockKey = 0x616674756e656c67;

// Begins a write transaction and takes the write lock, then reads the size
// in a statement of its own (READ COMMITTED: after the lock is granted, so
// it sees every leaf its previous holder committed). One round trip; the
// result is the size's.
constexpr const char* kBeginWrite =
    "BEGIN ISOLATION LEVEL READ COMMITTED;"
    "SELECT 1 FROM meta WHERE key = 'checkpoint' FOR UPDATE;"
    "SELECT coalesce(max(idx) + 1, 0) FROM leaves";

// Appends leaves and hashes and sets the checkpoint, in one statement. Its
// tag is the UPDATE's: "UPDATE 1" unless the checkpoint row is missing.
constexpr const char* kAppend =
    "WITH l AS (INSERT INTO leaves(idx, data)"
    "   SELECT $1::int8 + o - 1, d FROM unnest($2::bytea[]) WITH ORDINALITY AS t(d, o)),"
    " h AS (INSERT INTO hashes(idx, hash)"
    "   SELECT $3::int8 + o - 1, x FROM unnest($4::bytea[]) WITH ORDINALITY AS t(x, o))"
    " UPDATE meta SET value = $5 WHERE key = 'checkpoint'";

constexpr const char* kHeadQuery =
    "SELECT (SELECT coalesce(max(idx) + 1, 0) FROM leaves), value FROM meta WHERE key = 'checkpoint'";

// Session settings the log's guarantees rest on (pg_log_store.h).
constexpr const char* kSessionSettings =
    "SET synchronous_commit = on; SET idle_in_transaction_session_timeout = '30s'";

Result<PgConnection> Connect(const std::string& uri) {
  AFTUNE_ASSIGN_OR_RETURN(PgConnection conn, PgConnection::Open(uri));
  AFTUNE_RETURN_IF_ERROR(conn.Exec(kSessionSettings).status());
  return conn;
}

// Runs `op` on `conn`; when it failed because the connection is lost (the
// server restarted, or ended the session), reconnects and runs it once more.
template <typename Op>
auto RetryOnLostConnection(PgConnection& conn, Op op) -> decltype(op()) {
  auto r = op();
  if (r.ok() || !conn.lost()) return r;
  AFTUNE_RETURN_IF_ERROR(conn.Reconnect());
  AFTUNE_RETURN_IF_ERROR(conn.Exec(kSessionSettings).status());
  return op();
}

Result<std::vector<Hash>> ReadHashesFrom(PgConnection& conn, std::span<const uint64_t> indexes) {
  AFTUNE_ASSIGN_OR_RETURN(PgResult r, conn.Query("SELECT idx, hash FROM hashes WHERE idx = ANY($1::int8[])",
                                                  PgParams().Int64Array(indexes)));
  std::map<uint64_t, Hash> found;
  for (int row = 0; row < r.rows(); ++row) {
    AFTUNE_ASSIGN_OR_RETURN(int64_t idx, r.Int64(row, 0));
    std::span<const uint8_t> h = r.Bytes(row, 1);
    if (h.size() != 32) return Status::Corruption("receipt log: stored hash " + std::to_string(idx) + " is not 32 bytes");
    std::copy_n(h.data(), 32, found[static_cast<uint64_t>(idx)].begin());
  }
  std::vector<Hash> out;
  out.reserve(indexes.size());
  for (uint64_t i : indexes) {
    auto it = found.find(i);
    if (it == found.end()) return Status::Corruption("receipt log: stored hash " + std::to_string(i) + " is missing");
    out.push_back(it->second);
  }
  return out;
}

Result<TableRows> RowsOf(PgConnection& conn, const std::string& table) {
  AFTUNE_ASSIGN_OR_RETURN(PgResult r, conn.Query("SELECT count(*), coalesce(max(idx) + 1, 0) FROM " + table));
  AFTUNE_ASSIGN_OR_RETURN(int64_t count, r.Int64(0, 0));
  AFTUNE_ASSIGN_OR_RETURN(int64_t end, r.Int64(0, 1));
  return TableRows{static_cast<uint64_t>(count), static_cast<uint64_t>(end)};
}

Result<LogSchema> SchemaOf(PgConnection& conn) {
  AFTUNE_ASSIGN_OR_RETURN(PgResult r, conn.Query(kSchemaQuery));
  LogSchema schema;
  for (int row = 0; row < r.rows(); ++row)
    schema[r.Text(row, 0)].push_back({r.Text(row, 1), r.Text(row, 2), r.Bytes(row, 3).size() == 1 && r.Bytes(row, 3)[0]});
  return schema;
}

// Creates the tables with `genesis` when the current schema holds none,
// else checks them. REQUIRES: a transaction is open on `conn`.
Status CreateOrCheckTables(PgConnection& conn, const std::string& name, const LogGenesis& genesis) {
  AFTUNE_RETURN_IF_ERROR(conn.Query("SELECT pg_advisory_xact_lock($1::int8)", PgParams().Int64(kCreateLockKey)).status());
  AFTUNE_ASSIGN_OR_RETURN(LogSchema found, SchemaOf(conn));
  AFTUNE_ASSIGN_OR_RETURN(bool empty, CheckLogSchema(found, PgLogSchema(), name));
  if (!empty) return Status::Ok();
  AFTUNE_RETURN_IF_ERROR(conn.Exec(kCreateTables).status());
  for (const auto& [key, value] : {std::pair<std::string_view, std::string_view>{"format", kReceiptLogFormat},
                                   {"origin", genesis.origin},
                                   {"checkpoint", genesis.checkpoint}})
    AFTUNE_RETURN_IF_ERROR(
        conn.Query("INSERT INTO meta(key, value) VALUES($1, $2)", PgParams().Bytes(key).Bytes(value)).status());
  return Status::Ok();
}

class PgTransaction : public LogTransaction {
 public:
  PgTransaction(PgConnection& conn, uint64_t size) : conn_(conn), size_(size) {}
  ~PgTransaction() override {
    if (!ended_) (void)conn_.Exec("ROLLBACK");
  }

  Result<std::vector<Hash>> ReadHashes(std::span<const uint64_t> indexes) override {
    return ReadHashesFrom(conn_, indexes);
  }
  Result<uint64_t> Size() override { return size_; }
  Result<TableRows> Leaves() override { return RowsOf(conn_, "leaves"); }
  Result<TableRows> Hashes() override { return RowsOf(conn_, "hashes"); }

  Result<std::string> Meta(std::string_view key) override {
    AFTUNE_ASSIGN_OR_RETURN(PgResult r, conn_.Query("SELECT value FROM meta WHERE key = $1", PgParams().Bytes(key)));
    if (r.rows() == 0) return Status::NotFound("no '" + std::string(key) + "' entry");
    return r.Text(0, 0);
  }

  Status Append(uint64_t first, std::span<const std::string_view> leaves, uint64_t first_hash,
                std::span<const Hash> hashes, std::string_view checkpoint) override {
    std::vector<std::string_view> hash_bytes;
    hash_bytes.reserve(hashes.size());
    for (const Hash& h : hashes) hash_bytes.emplace_back(reinterpret_cast<const char*>(h.data()), h.size());
    PgParams params;
    params.Int64(static_cast<int64_t>(first)).ByteaArray(leaves);
    params.Int64(static_cast<int64_t>(first_hash)).ByteaArray(hash_bytes).Bytes(checkpoint);
    AFTUNE_ASSIGN_OR_RETURN(PgResult r, conn_.Query(kAppend, params));
    if (r.CommandTag() != "UPDATE 1") return Status::Corruption("receipt log: the 'checkpoint' entry is missing");
    return Status::Ok();
  }

  Status Commit() override {
    AFTUNE_CHECK(!ended_);
    ended_ = true;
    AFTUNE_ASSIGN_OR_RETURN(PgResult r, conn_.Exec("COMMIT"));
    // COMMIT of a transaction that failed is answered "ROLLBACK".
    if (r.CommandTag() != "COMMIT") return Status::IOError("postgresql: the transaction was rolled back");
    return Status::Ok();
  }

 private:
  PgConnection& conn_;
  const uint64_t size_;
  bool ended_ = false;
};

class PgLogStore : public LogStore {
 public:
  static Result<std::unique_ptr<LogStore>> Open(const std::string& uri, const LogGenesis& genesis) {
    const std::string name = RedactPassword(uri);
    AFTUNE_ASSIGN_OR_RETURN(PgConnection writer, Connect(uri));
    AFTUNE_RETURN_IF_ERROR(writer.Exec("BEGIN").status());
    Status created = CreateOrCheckTables(writer, name, genesis);
    Result<PgResult> end = writer.Exec(created.ok() ? "COMMIT" : "ROLLBACK");
    AFTUNE_RETURN_IF_ERROR(created);
    AFTUNE_RETURN_IF_ERROR(end.status());
    if (end->CommandTag() != "COMMIT") return Status::IOError(name + ": creating the receipt log was rolled back");
    AFTUNE_ASSIGN_OR_RETURN(PgConnection reader, Connect(uri));
    return std::unique_ptr<LogStore>(new PgLogStore(name, std::move(writer), std::move(reader)));
  }

  const std::string& name() const override { return name_; }

  Result<std::unique_ptr<LogTransaction>> Begin() override {
    return RetryOnLostConnection(writer_, [&]() -> Result<std::unique_ptr<LogTransaction>> {
      Result<PgResult> r = writer_.Exec(kBeginWrite);
      if (!r.ok()) {
        if (!writer_.lost()) (void)writer_.Exec("ROLLBACK");
        return r.status();
      }
      Result<uint64_t> size = r->rows() == 1 ? ParseDecimalU64(r->Text(0, 0)) : Status::Corruption("no size");
      if (!size.ok()) {
        (void)writer_.Exec("ROLLBACK");
        return Status::Corruption(name_ + ": unreadable log size");
      }
      return std::unique_ptr<LogTransaction>(new PgTransaction(writer_, *size));
    });
  }

  Result<std::vector<Hash>> ReadHashes(std::span<const uint64_t> indexes) override {
    std::lock_guard<std::mutex> lk(reader_mu_);
    return RetryOnLostConnection(reader_, [&] { return ReadHashesFrom(reader_, indexes); });
  }

  Result<std::string> ReadLeaf(uint64_t index) override {
    std::lock_guard<std::mutex> lk(reader_mu_);
    return RetryOnLostConnection(reader_, [&]() -> Result<std::string> {
      AFTUNE_ASSIGN_OR_RETURN(PgResult r, reader_.Query("SELECT data FROM leaves WHERE idx = $1::int8",
                                                         PgParams().Int64(static_cast<int64_t>(index))));
      if (r.rows() == 0) return Status::NotFound("no receipt at index " + std::to_string(index));
      return r.Text(0, 0);
    });
  }

  Result<LogHead> ReadHead() override {
    std::lock_guard<std::mutex> lk(reader_mu_);
    return RetryOnLostConnection(reader_, [&]() -> Result<LogHead> {
      AFTUNE_ASSIGN_OR_RETURN(PgResult r, reader_.Query(kHeadQuery));
      if (r.rows() == 0) return Status::Corruption("receipt log: no 'checkpoint' entry");
      AFTUNE_ASSIGN_OR_RETURN(int64_t size, r.Int64(0, 0));
      return LogHead{static_cast<uint64_t>(size), r.Text(0, 1)};
    });
  }

 private:
  PgLogStore(std::string name, PgConnection writer, PgConnection reader)
      : name_(std::move(name)), writer_(std::move(writer)), reader_(std::move(reader)) {}

  const std::string name_;
  PgConnection writer_, reader_;
  std::mutex reader_mu_;
};

}  // namespace

Result<std::unique_ptr<LogStore>> OpenPgLogStore(const std::string& uri, const LogGenesis& genesis) {
  return PgLogStore::Open(uri, genesis);
}

}  // namespace aftune
