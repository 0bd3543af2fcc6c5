// The receipt log's storage behind one narrow interface, so that the log
// (serve/receipt_log.h) is the same whether it lives in an SQLite file that
// one server owns (serve/sqlite_log_store.h) or in a PostgreSQL database
// that serving replicas share (serve/pg_log_store.h).
//
// Both hold the same three tables (docs/formats.md, "Receipt log"):
//
//   meta(key, value)    'format' = "aftune receipt log v1",
//                       'origin' = the log's origin (its signing key's name),
//                       'checkpoint' = the latest signed checkpoint
//   leaves(idx, data)   leaf idx's bytes (a receipt note)
//   hashes(idx, hash)   the stored hashes of commit/tlog.h
//
// and keep one rule: a write transaction appends leaves at the end, their
// stored hashes and the checkpoint signed over the new size, all at once,
// while holding the log's write lock against every other writer on the
// database. So the database is always a complete log of some size with its
// checkpoint, and the size a transaction reads under the lock is the size
// it extends.
//
// Trust rule: the database is the provider's own, but another process may
// append to it at any moment (PostgreSQL replicas): nothing read outside a
// write transaction tells what the next transaction will find.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "commit/tlog.h"

namespace aftune {

inline constexpr std::string_view kReceiptLogFormat = "aftune receipt log v1";

// The latest committed state: the size and the checkpoint signed over it.
struct LogHead {
  uint64_t size = 0;
  std::string checkpoint;
};

// What the tables of a new log start with.
struct LogGenesis {
  std::string origin;
  std::string checkpoint;  // signed over the empty tree
};

// Rows of an idx-keyed table: how many, and max(idx) + 1 (0 when none).
struct TableRows {
  uint64_t count = 0;
  uint64_t end = 0;
};

// A write transaction holding the log's write lock: no other transaction on
// the database, in this process or another, appends until it ends. Rolled
// back when destroyed uncommitted. Used by one thread at a time.
class LogTransaction : public HashReader {
 public:
  // The number of leaves committed (max(idx) + 1), read under the lock.
  virtual Result<uint64_t> Size() = 0;
  virtual Result<TableRows> Leaves() = 0;
  virtual Result<TableRows> Hashes() = 0;
  // meta's value for `key`. kNotFound when there is none.
  virtual Result<std::string> Meta(std::string_view key) = 0;
  // Appends `leaves` at indexes first, first + 1, …, `hashes` at indexes
  // first_hash, first_hash + 1, … and sets the checkpoint.
  // REQUIRES: first == Size(), first_hash == StoredHashCount(first).
  virtual Status Append(uint64_t first, std::span<const std::string_view> leaves, uint64_t first_hash,
                        std::span<const Hash> hashes, std::string_view checkpoint) = 0;
  // Makes the transaction durable; an error means it may or may not be.
  // REQUIRES: called at most once.
  virtual Status Commit() = 0;
};

// Reads of committed state (thread-safe) and write transactions.
class LogStore : public HashReader {
 public:
  // The database, as messages name it (a path; a URI without its password).
  virtual const std::string& name() const = 0;
  // Begins a write transaction, waiting for the lock.
  // REQUIRES: no other transaction of this store is open.
  virtual Result<std::unique_ptr<LogTransaction>> Begin() = 0;
  // Leaf `index`'s bytes. kNotFound when it is not committed.
  virtual Result<std::string> ReadLeaf(uint64_t index) = 0;
  // The committed size and checkpoint, read together.
  virtual Result<LogHead> ReadHead() = 0;
};

// One column of a table as the database reports it.
struct LogColumn {
  std::string name;
  std::string type;  // as the backend spells it, compared case-insensitively
  bool primary_key = false;
  bool operator==(const LogColumn&) const;
};
// Tables by name, columns in order.
using LogSchema = std::map<std::string, std::vector<LogColumn>>;

// Compares the tables found in a database with a log's tables: true when
// the database holds no table at all (a new log's tables are to be
// created), false when it holds the log's tables as `expected` describes
// them (other tables are left alone); otherwise kCorruption naming `db` and
// what differs (a foreign database, a missing table, a changed column).
Result<bool> CheckLogSchema(const LogSchema& found, const LogSchema& expected, const std::string& db);

}  // namespace aftune
