#include "serve/receipt_log.h"

#include <chrono>
#include <condition_variable>
#include <iterator>
#include <utility>
#include <vector>

#include "commit/checkpoint.h"
#include "commit/encoding.h"
#include "commit/note.h"
#include "commit/tlog.h"
#include "serve/sqlite.h"

namespace aftune {

namespace {

// Leaves written per transaction at most: bounds a transaction's memory and
// the latency of the appends queued behind it.
constexpr size_t kMaxLeavesPerCommit = 1 << 16;

// How long a would-be writer waits, once, for leaves that are reserved but
// not yet queued (see Append).
constexpr std::chrono::microseconds kLinger{1000};

constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS leaves(idx INTEGER PRIMARY KEY, data BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS hashes(idx INTEGER PRIMARY KEY, hash BLOB NOT NULL);";

// One connection with the statements that read hashes and leaves.
class Connection : public HashReader {
 public:
  static Result<std::unique_ptr<Connection>> Open(const std::string& path) {
    AFTUNE_ASSIGN_OR_RETURN(Sqlite db, Sqlite::Open(path));
    AFTUNE_RETURN_IF_ERROR(db.Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"));
    AFTUNE_RETURN_IF_ERROR(db.Exec(kSchema));
    AFTUNE_ASSIGN_OR_RETURN(SqliteStatement get_hash, db.Prepare("SELECT hash FROM hashes WHERE idx = ?"));
    AFTUNE_ASSIGN_OR_RETURN(SqliteStatement get_leaf, db.Prepare("SELECT data FROM leaves WHERE idx = ?"));
    return std::unique_ptr<Connection>(new Connection(std::move(db), std::move(get_hash), std::move(get_leaf)));
  }

  Result<std::vector<Hash>> ReadHashes(std::span<const uint64_t> indexes) override {
    std::vector<Hash> out;
    out.reserve(indexes.size());
    for (uint64_t i : indexes) {
      get_hash_.BindInt(1, static_cast<int64_t>(i));
      Result<bool> row = get_hash_.Step();
      if (!row.ok() || !*row || get_hash_.ColumnBlob(0).size() != 32) {
        get_hash_.Reset();
        if (!row.ok()) return row.status();
        return Status::Corruption("receipt log: stored hash " + std::to_string(i) + " is missing or not 32 bytes");
      }
      Hash h;
      std::copy_n(get_hash_.ColumnBlob(0).data(), 32, h.begin());
      get_hash_.Reset();
      out.push_back(h);
    }
    return out;
  }

  Result<std::string> ReadLeaf(uint64_t index) {
    get_leaf_.BindInt(1, static_cast<int64_t>(index));
    Result<bool> row = get_leaf_.Step();
    std::string data = row.ok() && *row ? get_leaf_.ColumnText(0) : "";
    get_leaf_.Reset();
    if (!row.ok()) return row.status();
    if (!*row) return Status::Corruption("receipt log: leaf " + std::to_string(index) + " is missing");
    return data;
  }

  Sqlite& db() { return db_; }

 private:
  Connection(Sqlite db, SqliteStatement get_hash, SqliteStatement get_leaf)
      : db_(std::move(db)), get_hash_(std::move(get_hash)), get_leaf_(std::move(get_leaf)) {}
  Sqlite db_;
  SqliteStatement get_hash_, get_leaf_;
};

Result<int64_t> QueryInt(Sqlite& db, const std::string& sql) {
  AFTUNE_ASSIGN_OR_RETURN(SqliteStatement q, db.Prepare(sql));
  AFTUNE_ASSIGN_OR_RETURN(bool row, q.Step());
  AFTUNE_CHECK(row);  // aggregate queries always return a row
  return q.ColumnInt(0);
}

}  // namespace

// The database: a writer connection used by the writing appender only and a
// reader connection shared (under reader_mu) by the proof methods.
class ReceiptLog::Store {
 public:
  std::unique_ptr<Connection> writer, reader;
  std::mutex reader_mu;

  static Result<std::unique_ptr<Store>> Open(const std::string& path) {
    auto s = std::make_unique<Store>();
    AFTUNE_ASSIGN_OR_RETURN(s->writer, Connection::Open(path));
    AFTUNE_ASSIGN_OR_RETURN(s->reader, Connection::Open(path));
    Sqlite& db = s->writer->db();
    AFTUNE_ASSIGN_OR_RETURN(SqliteStatement put_leaf, db.Prepare("INSERT INTO leaves(idx, data) VALUES(?, ?)"));
    AFTUNE_ASSIGN_OR_RETURN(SqliteStatement put_hash, db.Prepare("INSERT INTO hashes(idx, hash) VALUES(?, ?)"));
    AFTUNE_ASSIGN_OR_RETURN(SqliteStatement put_meta,
                            db.Prepare("INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)"));
    AFTUNE_ASSIGN_OR_RETURN(SqliteStatement get_meta, db.Prepare("SELECT value FROM meta WHERE key = ?"));
    s->put_leaf_ = std::make_unique<SqliteStatement>(std::move(put_leaf));
    s->put_hash_ = std::make_unique<SqliteStatement>(std::move(put_hash));
    s->put_meta_ = std::make_unique<SqliteStatement>(std::move(put_meta));
    s->get_meta_ = std::make_unique<SqliteStatement>(std::move(get_meta));
    return s;
  }

  // The meta value for `key`, or nullopt-like empty Result kNotFound.
  Result<std::string> GetMeta(std::string_view key) {
    get_meta_->BindText(1, key);
    Result<bool> row = get_meta_->Step();
    std::string v = row.ok() && *row ? get_meta_->ColumnText(0) : "";
    get_meta_->Reset();
    if (!row.ok()) return row.status();
    if (!*row) return Status::NotFound("receipt log: no '" + std::string(key) + "' entry");
    return v;
  }

  Status PutMeta(std::string_view key, std::string_view value) {
    put_meta_->BindText(1, key);
    put_meta_->BindBlob(2, AsBytes(value));
    return put_meta_->Run();
  }

  // Appends `leaves` at indexes first, first+1, … and the checkpoint signed
  // over the new size, in one transaction. Returns the checkpoint.
  Result<std::string> Write(uint64_t first, const std::vector<std::string>& leaves, const PrivateKey& signer) {
    AFTUNE_RETURN_IF_ERROR(writer->db().Exec("BEGIN IMMEDIATE"));
    Result<std::string> cp = WriteInTransaction(first, leaves, signer);
    Status end = writer->db().Exec(cp.ok() ? "COMMIT" : "ROLLBACK");
    if (!cp.ok()) return cp.status();
    if (!end.ok()) return end;
    return cp;
  }

  // The signed checkpoint of the first `size` leaves, read through `conn`.
  static Result<std::string> SignCheckpoint(uint64_t size, Connection& conn, const PrivateKey& signer) {
    AFTUNE_ASSIGN_OR_RETURN(Hash root, TreeRoot(size, conn));
    Result<std::string> text = FormatCheckpoint(Checkpoint{signer.name(), size, root, {}});
    AFTUNE_CHECK(text.ok());  // the origin is a key's name, hence valid
    return SignNote(*text, signer);
  }

 private:
  Result<std::string> WriteInTransaction(uint64_t first, const std::vector<std::string>& leaves,
                                         const PrivateKey& signer) {
    for (size_t k = 0; k < leaves.size(); ++k) {
      const uint64_t n = first + k;
      put_leaf_->BindInt(1, static_cast<int64_t>(n));
      put_leaf_->BindBlob(2, AsBytes(leaves[k]));
      AFTUNE_RETURN_IF_ERROR(put_leaf_->Run());
      AFTUNE_ASSIGN_OR_RETURN(std::vector<Hash> stored, StoredHashesForLeaf(n, LeafHash(AsBytes(leaves[k])), *writer));
      const uint64_t at = StoredHashIndex(0, n);
      for (size_t j = 0; j < stored.size(); ++j) {
        put_hash_->BindInt(1, static_cast<int64_t>(at + j));
        put_hash_->BindBlob(2, stored[j]);
        AFTUNE_RETURN_IF_ERROR(put_hash_->Run());
      }
    }
    AFTUNE_ASSIGN_OR_RETURN(std::string cp, SignCheckpoint(first + leaves.size(), *writer, signer));
    AFTUNE_RETURN_IF_ERROR(PutMeta("checkpoint", cp));
    return cp;
  }

  std::unique_ptr<SqliteStatement> put_leaf_, put_hash_, put_meta_, get_meta_;
};

Result<std::unique_ptr<ReceiptLog>> ReceiptLog::Open(const std::string& path, const PrivateKey& signer) {
  AFTUNE_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, Store::Open(path));
  Sqlite& db = store->writer->db();
  Result<std::string> format = store->GetMeta("format");
  if (format.status().code() == Status::Code::kNotFound) {
    AFTUNE_RETURN_IF_ERROR(db.Exec("BEGIN IMMEDIATE"));
    AFTUNE_RETURN_IF_ERROR(store->PutMeta("format", kReceiptLogFormat));
    AFTUNE_RETURN_IF_ERROR(store->PutMeta("origin", signer.name()));
    AFTUNE_ASSIGN_OR_RETURN(std::string cp, Store::SignCheckpoint(0, *store->writer, signer));
    AFTUNE_RETURN_IF_ERROR(store->PutMeta("checkpoint", cp));
    AFTUNE_RETURN_IF_ERROR(db.Exec("COMMIT"));
    format = std::string(kReceiptLogFormat);
  }
  if (!format.ok()) return format.status();
  if (*format != kReceiptLogFormat) return Status::Corruption(path + ": not an aftune receipt log ('" + *format + "')");
  AFTUNE_ASSIGN_OR_RETURN(std::string origin, store->GetMeta("origin"));
  if (origin != signer.name())
    return Status::InvalidArgument(path + ": the log's origin is '" + origin + "', the signing key is '" +
                                   signer.name() + "'");
  AFTUNE_ASSIGN_OR_RETURN(int64_t leaves, QueryInt(db, "SELECT coalesce(max(idx) + 1, 0) FROM leaves"));
  AFTUNE_ASSIGN_OR_RETURN(int64_t hashes, QueryInt(db, "SELECT coalesce(max(idx) + 1, 0) FROM hashes"));
  const uint64_t size = static_cast<uint64_t>(leaves);
  if (static_cast<uint64_t>(hashes) != StoredHashCount(size))
    return Status::Corruption(path + ": " + std::to_string(hashes) + " stored hashes for " + std::to_string(size) +
                              " leaves, expected " + std::to_string(StoredHashCount(size)));
  AFTUNE_ASSIGN_OR_RETURN(std::string cp_note, store->GetMeta("checkpoint"));
  PublicKey known[] = {signer.public_key()};
  Result<Note> opened = OpenNote(cp_note, known);
  if (!opened.ok()) return Status::Corruption(path + ": checkpoint: " + opened.status().message());
  AFTUNE_ASSIGN_OR_RETURN(Checkpoint cp, ParseCheckpoint(opened->text));
  AFTUNE_ASSIGN_OR_RETURN(Hash root, TreeRoot(size, *store->writer));
  if (cp.size != size || cp.root != root)
    return Status::Corruption(path + ": the checkpoint (size " + std::to_string(cp.size) +
                              ") does not match the stored leaves (size " + std::to_string(size) + ")");
  return std::unique_ptr<ReceiptLog>(new ReceiptLog(signer, std::move(store), size, std::move(cp_note)));
}

struct ReceiptLog::Waiter {
  uint64_t end = 0;
  std::condition_variable cv;
};

ReceiptLog::ReceiptLog(const PrivateKey& signer, std::unique_ptr<Store> store, uint64_t size, std::string checkpoint)
    : signer_(signer), store_(std::move(store)), reserved_(size), committed_(size), checkpoint_(std::move(checkpoint)) {}

ReceiptLog::~ReceiptLog() {
  std::lock_guard<std::mutex> lk(mu_);
  AFTUNE_CHECK(!writing_ && pending_.empty() && waiters_.empty());
}

void ReceiptLog::WriteQueued(std::unique_lock<std::mutex>& lk) {
  const uint64_t first = committed_;
  std::vector<std::string> batch;
  for (auto it = pending_.begin();
       it != pending_.end() && it->first == first + batch.size() && batch.size() < kMaxLeavesPerCommit;
       it = pending_.erase(it))
    batch.push_back(std::move(it->second));
  writing_ = true;
  lk.unlock();
  Result<std::string> cp = store_->Write(first, batch, signer_);
  lk.lock();
  writing_ = false;
  if (cp.ok()) {
    committed_ = first + batch.size();
    checkpoint_ = std::move(*cp);
  } else {
    failed_ = cp.status().WithContext("receipt log append");
  }
  // Wake the appenders whose leaves are now durable (all, after a failure),
  // then the one owning the next queued leaf, to write the next batch; with
  // mu_ released, so that they do not wake only to block on it.
  std::vector<std::shared_ptr<Waiter>> wake;
  for (auto it = waiters_.begin(); it != waiters_.end() && (it->second->end <= committed_ || !failed_.ok()); ++it)
    wake.push_back(it->second);
  if (failed_.ok() && pending_.count(committed_)) {
    auto owner = waiters_.upper_bound(committed_);
    AFTUNE_CHECK(owner != waiters_.begin());  // a queued leaf's appender is waiting
    wake.push_back(std::prev(owner)->second);
  }
  lk.unlock();
  for (const auto& w : wake) w->cv.notify_one();
  lk.lock();
}

Result<AppendedLeaves> ReceiptLog::Append(uint64_t count, const std::function<std::string(uint64_t)>& make_leaf) {
  AFTUNE_CHECK(count >= 1);
  uint64_t first;
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (!failed_.ok()) return failed_;
    first = reserved_;
    reserved_ += count;
  }
  std::vector<std::string> leaves;
  leaves.reserve(count);
  for (uint64_t k = 0; k < count; ++k) leaves.push_back(make_leaf(first + k));
  std::unique_lock<std::mutex> lk(mu_);
  for (uint64_t k = 0; k < count; ++k) pending_.emplace(first + k, std::move(leaves[k]));
  auto me = std::make_shared<Waiter>();  // shared: a writer may still notify it after we return
  me->end = first + count;
  waiters_.emplace(first, me);
  bool lingered = false;
  while (committed_ < me->end && failed_.ok()) {
    if (!writing_ && pending_.count(committed_)) {
      // Other appenders have reserved indexes and are building (signing)
      // their leaves right now: give them up to kLinger once, so that one
      // transaction, one fsync, covers the whole burst. Whoever queues the
      // last of them finds nothing missing and writes at once.
      if (!lingered && pending_.size() < reserved_ - committed_) {
        lingered = true;
        me->cv.wait_for(lk, kLinger);
        continue;
      }
      WriteQueued(lk);
    } else {
      me->cv.wait(lk);
    }
  }
  waiters_.erase(first);
  if (committed_ >= me->end) return AppendedLeaves{first, checkpoint_};
  pending_.clear();  // after a failure nothing more is written
  return failed_;
}

uint64_t ReceiptLog::size() const {
  std::lock_guard<std::mutex> lk(mu_);
  return committed_;
}

std::string ReceiptLog::LatestCheckpoint() const {
  std::lock_guard<std::mutex> lk(mu_);
  return checkpoint_;
}

Status ReceiptLog::CheckSize(uint64_t size) const {
  const uint64_t have = this->size();
  if (size > have)
    return Status::InvalidArgument("tree size " + std::to_string(size) + " exceeds the log's size " +
                                   std::to_string(have));
  return Status::Ok();
}

Result<std::string> ReceiptLog::Leaf(uint64_t index) {
  if (index >= size()) return Status::NotFound("no receipt at index " + std::to_string(index));
  std::lock_guard<std::mutex> lk(store_->reader_mu);
  return store_->reader->ReadLeaf(index);
}

Result<Hash> ReceiptLog::Root(uint64_t size) {
  AFTUNE_RETURN_IF_ERROR(CheckSize(size));
  std::lock_guard<std::mutex> lk(store_->reader_mu);
  return TreeRoot(size, *store_->reader);
}

Result<InclusionProof> ReceiptLog::ProveInclusion(uint64_t index, uint64_t size) {
  AFTUNE_RETURN_IF_ERROR(CheckSize(size));
  std::lock_guard<std::mutex> lk(store_->reader_mu);
  return aftune::ProveInclusion(index, size, *store_->reader);
}

Result<ConsistencyProof> ReceiptLog::ProveConsistency(uint64_t old_size, uint64_t new_size) {
  AFTUNE_RETURN_IF_ERROR(CheckSize(new_size));
  std::lock_guard<std::mutex> lk(store_->reader_mu);
  return aftune::ProveConsistency(old_size, new_size, *store_->reader);
}

}  // namespace aftune
