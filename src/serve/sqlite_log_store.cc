#include "serve/sqlite_log_store.h"

#include <algorithm>
#include <mutex>
#include <utility>

#include "commit/encoding.h"
#include "serve/db_lock.h"
#include "serve/sqlite.h"

namespace aftune {

namespace {

constexpr const char* kCreateTables =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value BLOB NOT NULL);"
    "CREATE TABLE leaves(idx INTEGER PRIMARY KEY, data BLOB NOT NULL);"
    "CREATE TABLE hashes(idx INTEGER PRIMARY KEY, hash BLOB NOT NULL);";

const LogSchema& SqliteLogSchema() {
  static const LogSchema schema = {
      {"meta", {{"key", "TEXT", true}, {"value", "BLOB", false}}},
      {"leaves", {{"idx", "INTEGER", true}, {"data", "BLOB", false}}},
      {"hashes", {{"idx", "INTEGER", true}, {"hash", "BLOB", false}}},
  };
  return schema;
}

constexpr const char* kHeadQuery =
    "SELECT (SELECT coalesce(max(idx) + 1, 0) FROM leaves), value FROM meta WHERE key = 'checkpoint'";

// One connection with the statements that read the log.
class Connection {
 public:
  static Result<Connection> Open(const std::string& path) {
    AFTUNE_ASSIGN_OR_RETURN(Sqlite db, Sqlite::Open(path));
    AFTUNE_RETURN_IF_ERROR(db.Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"));
    return Connection(std::move(db));
  }

  // Prepares the statements, once the tables exist.
  Status Prepare() {
    AFTUNE_ASSIGN_OR_RETURN(SqliteStatement get_hash, db_.Prepare("SELECT hash FROM hashes WHERE idx = ?"));
    AFTUNE_ASSIGN_OR_RETURN(SqliteStatement get_leaf, db_.Prepare("SELECT data FROM leaves WHERE idx = ?"));
    AFTUNE_ASSIGN_OR_RETURN(SqliteStatement get_head, db_.Prepare(kHeadQuery));
    AFTUNE_ASSIGN_OR_RETURN(SqliteStatement get_size, db_.Prepare("SELECT coalesce(max(idx) + 1, 0) FROM leaves"));
    get_size_ = std::make_unique<SqliteStatement>(std::move(get_size));
    get_hash_ = std::make_unique<SqliteStatement>(std::move(get_hash));
    get_leaf_ = std::make_unique<SqliteStatement>(std::move(get_leaf));
    get_head_ = std::make_unique<SqliteStatement>(std::move(get_head));
    return Status::Ok();
  }

  Result<std::vector<Hash>> ReadHashes(std::span<const uint64_t> indexes) {
    std::vector<Hash> out;
    out.reserve(indexes.size());
    for (uint64_t i : indexes) {
      get_hash_->BindInt(1, static_cast<int64_t>(i));
      Result<bool> row = get_hash_->Step();
      if (!row.ok() || !*row || get_hash_->ColumnBlob(0).size() != 32) {
        get_hash_->Reset();
        if (!row.ok()) return row.status();
        return Status::Corruption("receipt log: stored hash " + std::to_string(i) + " is missing or not 32 bytes");
      }
      Hash h;
      std::copy_n(get_hash_->ColumnBlob(0).data(), 32, h.begin());
      get_hash_->Reset();
      out.push_back(h);
    }
    return out;
  }

  Result<std::string> ReadLeaf(uint64_t index) {
    get_leaf_->BindInt(1, static_cast<int64_t>(index));
    Result<bool> row = get_leaf_->Step();
    std::string data = row.ok() && *row ? get_leaf_->ColumnText(0) : "";
    get_leaf_->Reset();
    if (!row.ok()) return row.status();
    if (!*row) return Status::NotFound("no receipt at index " + std::to_string(index));
    return data;
  }

  Result<LogHead> ReadHead() {
    Result<bool> row = get_head_->Step();
    LogHead head;
    if (row.ok() && *row) head = {static_cast<uint64_t>(get_head_->ColumnInt(0)), get_head_->ColumnText(1)};
    get_head_->Reset();
    if (!row.ok()) return row.status();
    if (!*row) return Status::Corruption("receipt log: no 'checkpoint' entry");
    return head;
  }

  // max(idx) + 1 of leaves: a lookup of the last rowid, not a count.
  Result<uint64_t> Size() {
    Result<bool> row = get_size_->Step();
    const uint64_t size = row.ok() && *row ? static_cast<uint64_t>(get_size_->ColumnInt(0)) : 0;
    get_size_->Reset();
    if (!row.ok()) return row.status();
    return size;
  }

  Result<TableRows> Rows(const std::string& table) {
    AFTUNE_ASSIGN_OR_RETURN(SqliteStatement q,
                            db_.Prepare("SELECT count(*), coalesce(max(idx) + 1, 0) FROM " + table));
    AFTUNE_ASSIGN_OR_RETURN(bool row, q.Step());
    AFTUNE_CHECK(row);  // aggregate queries always return a row
    return TableRows{static_cast<uint64_t>(q.ColumnInt(0)), static_cast<uint64_t>(q.ColumnInt(1))};
  }

  // The tables in the database with their columns.
  Result<LogSchema> Schema() {
    AFTUNE_ASSIGN_OR_RETURN(SqliteStatement tables,
                            db_.Prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND "
                                        "name NOT LIKE 'sqlite_%'"));
    AFTUNE_ASSIGN_OR_RETURN(SqliteStatement columns, db_.Prepare("SELECT name, type, pk FROM pragma_table_info(?)"));
    LogSchema schema;
    for (;;) {
      AFTUNE_ASSIGN_OR_RETURN(bool row, tables.Step());
      if (!row) break;
      const std::string table = tables.ColumnText(0);
      std::vector<LogColumn>& cols = schema[table];
      columns.BindText(1, table);
      for (;;) {
        AFTUNE_ASSIGN_OR_RETURN(bool col, columns.Step());
        if (!col) break;
        cols.push_back({columns.ColumnText(0), columns.ColumnText(1), columns.ColumnInt(2) != 0});
      }
      columns.Reset();
    }
    return schema;
  }

  Sqlite& db() { return db_; }

 private:
  explicit Connection(Sqlite db) : db_(std::move(db)) {}
  Sqlite db_;
  std::unique_ptr<SqliteStatement> get_hash_, get_leaf_, get_head_, get_size_;
};

class SqliteLogStore;

class SqliteTransaction : public LogTransaction {
 public:
  explicit SqliteTransaction(SqliteLogStore& store) : store_(store) {}
  ~SqliteTransaction() override;

  Result<std::vector<Hash>> ReadHashes(std::span<const uint64_t> indexes) override;
  Result<uint64_t> Size() override;
  Result<TableRows> Leaves() override;
  Result<TableRows> Hashes() override;
  Result<std::string> Meta(std::string_view key) override;
  Status Append(uint64_t first, std::span<const std::string_view> leaves, uint64_t first_hash,
                std::span<const Hash> hashes, std::string_view checkpoint) override;
  Status Commit() override;

 private:
  SqliteLogStore& store_;
  bool ended_ = false;
};

// A writer connection used by the open transaction only, and a reader
// connection shared (under reader_mu_) by the committed-state reads.
class SqliteLogStore : public LogStore {
 public:
  static Result<std::unique_ptr<LogStore>> Open(const std::string& path, const LogGenesis& genesis) {
    AFTUNE_ASSIGN_OR_RETURN(DbLock lock, DbLock::Acquire(path));
    AFTUNE_ASSIGN_OR_RETURN(Connection writer, Connection::Open(path));
    AFTUNE_RETURN_IF_ERROR(writer.db().Exec("BEGIN IMMEDIATE"));
    Status created = CreateOrCheckTables(writer, path, genesis);
    AFTUNE_RETURN_IF_ERROR(writer.db().Exec(created.ok() ? "COMMIT" : "ROLLBACK"));
    AFTUNE_RETURN_IF_ERROR(created);
    AFTUNE_RETURN_IF_ERROR(writer.Prepare());
    AFTUNE_ASSIGN_OR_RETURN(Connection reader, Connection::Open(path));
    AFTUNE_RETURN_IF_ERROR(reader.Prepare());
    Sqlite& db = writer.db();
    AFTUNE_ASSIGN_OR_RETURN(SqliteStatement put_leaf, db.Prepare("INSERT INTO leaves(idx, data) VALUES(?, ?)"));
    AFTUNE_ASSIGN_OR_RETURN(SqliteStatement put_hash, db.Prepare("INSERT INTO hashes(idx, hash) VALUES(?, ?)"));
    AFTUNE_ASSIGN_OR_RETURN(SqliteStatement put_checkpoint,
                            db.Prepare("UPDATE meta SET value = ? WHERE key = 'checkpoint'"));
    AFTUNE_ASSIGN_OR_RETURN(SqliteStatement get_meta, db.Prepare("SELECT value FROM meta WHERE key = ?"));
    return std::unique_ptr<LogStore>(new SqliteLogStore(path, std::move(lock), std::move(writer), std::move(reader),
                                                        std::move(put_leaf), std::move(put_hash),
                                                        std::move(put_checkpoint), std::move(get_meta)));
  }

  const std::string& name() const override { return path_; }

  Result<std::unique_ptr<LogTransaction>> Begin() override {
    AFTUNE_RETURN_IF_ERROR(writer_.db().Exec("BEGIN IMMEDIATE"));
    return std::unique_ptr<LogTransaction>(new SqliteTransaction(*this));
  }

  Result<std::vector<Hash>> ReadHashes(std::span<const uint64_t> indexes) override {
    std::lock_guard<std::mutex> lk(reader_mu_);
    return reader_.ReadHashes(indexes);
  }

  Result<std::string> ReadLeaf(uint64_t index) override {
    std::lock_guard<std::mutex> lk(reader_mu_);
    return reader_.ReadLeaf(index);
  }

  Result<LogHead> ReadHead() override {
    std::lock_guard<std::mutex> lk(reader_mu_);
    return reader_.ReadHead();
  }

 private:
  friend class SqliteTransaction;

  SqliteLogStore(std::string path, DbLock lock, Connection writer, Connection reader, SqliteStatement put_leaf,
                 SqliteStatement put_hash, SqliteStatement put_checkpoint, SqliteStatement get_meta)
      : path_(std::move(path)),
        lock_(std::move(lock)),
        writer_(std::move(writer)),
        reader_(std::move(reader)),
        put_leaf_(std::move(put_leaf)),
        put_hash_(std::move(put_hash)),
        put_checkpoint_(std::move(put_checkpoint)),
        get_meta_(std::move(get_meta)) {}

  // Creates the tables with `genesis` in a database that holds none, else
  // checks them. REQUIRES: a write transaction is open on `writer`.
  static Status CreateOrCheckTables(Connection& writer, const std::string& path, const LogGenesis& genesis) {
    AFTUNE_ASSIGN_OR_RETURN(LogSchema found, writer.Schema());
    AFTUNE_ASSIGN_OR_RETURN(bool empty, CheckLogSchema(found, SqliteLogSchema(), path));
    if (!empty) return Status::Ok();
    Sqlite& db = writer.db();
    AFTUNE_RETURN_IF_ERROR(db.Exec(kCreateTables));
    AFTUNE_ASSIGN_OR_RETURN(SqliteStatement put, db.Prepare("INSERT INTO meta(key, value) VALUES(?, ?)"));
    for (const auto& [key, value] : {std::pair<std::string_view, std::string_view>{"format", kReceiptLogFormat},
                                     {"origin", genesis.origin},
                                     {"checkpoint", genesis.checkpoint}}) {
      put.BindText(1, key);
      put.BindBlob(2, AsBytes(value));
      AFTUNE_RETURN_IF_ERROR(put.Run());
    }
    return Status::Ok();
  }

  const std::string path_;
  DbLock lock_;
  Connection writer_, reader_;
  SqliteStatement put_leaf_, put_hash_, put_checkpoint_, get_meta_;
  std::mutex reader_mu_;
};

SqliteTransaction::~SqliteTransaction() {
  if (!ended_) (void)store_.writer_.db().Exec("ROLLBACK");
}

Result<std::vector<Hash>> SqliteTransaction::ReadHashes(std::span<const uint64_t> indexes) {
  return store_.writer_.ReadHashes(indexes);
}

Result<uint64_t> SqliteTransaction::Size() { return store_.writer_.Size(); }

Result<TableRows> SqliteTransaction::Leaves() { return store_.writer_.Rows("leaves"); }

Result<TableRows> SqliteTransaction::Hashes() { return store_.writer_.Rows("hashes"); }

Result<std::string> SqliteTransaction::Meta(std::string_view key) {
  SqliteStatement& q = store_.get_meta_;
  q.BindText(1, key);
  Result<bool> row = q.Step();
  std::string v = row.ok() && *row ? q.ColumnText(0) : "";
  q.Reset();
  if (!row.ok()) return row.status();
  if (!*row) return Status::NotFound("no '" + std::string(key) + "' entry");
  return v;
}

Status SqliteTransaction::Append(uint64_t first, std::span<const std::string_view> leaves, uint64_t first_hash,
                                 std::span<const Hash> hashes, std::string_view checkpoint) {
  for (size_t k = 0; k < leaves.size(); ++k) {
    store_.put_leaf_.BindInt(1, static_cast<int64_t>(first + k));
    store_.put_leaf_.BindBlob(2, AsBytes(leaves[k]));
    AFTUNE_RETURN_IF_ERROR(store_.put_leaf_.Run());
  }
  for (size_t k = 0; k < hashes.size(); ++k) {
    store_.put_hash_.BindInt(1, static_cast<int64_t>(first_hash + k));
    store_.put_hash_.BindBlob(2, hashes[k]);
    AFTUNE_RETURN_IF_ERROR(store_.put_hash_.Run());
  }
  store_.put_checkpoint_.BindBlob(1, AsBytes(checkpoint));
  return store_.put_checkpoint_.Run();
}

Status SqliteTransaction::Commit() {
  AFTUNE_CHECK(!ended_);
  Status st = store_.writer_.db().Exec("COMMIT");
  if (st.ok()) ended_ = true;  // else the destructor rolls back
  return st;
}

}  // namespace

Result<std::unique_ptr<LogStore>> OpenSqliteLogStore(const std::string& path, const LogGenesis& genesis) {
  return SqliteLogStore::Open(path, genesis);
}

}  // namespace aftune
