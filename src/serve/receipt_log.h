// The receipt log: an append-only RFC 6962 log of signed receipts persisted
// in SQLite, with signed C2SP checkpoints and O(log n) proofs
// (DESIGN.md, "Receipts and the log"; docs/formats.md, "Receipt log").
//
// Storage (one SQLite database in WAL mode, synchronous=FULL):
//
//   meta(key TEXT PRIMARY KEY, value BLOB)   'format' = "aftune receipt log v1",
//                                            'origin' = the log's origin,
//                                            'checkpoint' = latest signed checkpoint
//   leaves(idx INTEGER PRIMARY KEY, data BLOB)   leaf i's bytes (a receipt note)
//   hashes(idx INTEGER PRIMARY KEY, hash BLOB)   the stored hashes of commit/tlog.h
//
// Every transaction appends a run of leaves, their stored hashes, and the
// checkpoint signed over the new size, so the database is always a complete
// log of some size with its checkpoint; kill -9 at any moment loses only
// appends that were not yet acknowledged.
//
// Group commit: concurrent Append calls reserve consecutive indexes at once,
// build their leaves in parallel (the caller signs a receipt naming its
// index), then queue them. Whichever appender finds no transaction running
// and the log's next leaf queued becomes the writer: it writes every leaf
// queued contiguously at the log's end in one transaction, while the others
// wait for it (LevelDB's writer queue; a lone appender writes its own leaf
// with no thread hand-off). A writer that sees indexes reserved but not yet
// queued waits up to 1 ms for them, once, so a burst shares one fsync. An append returns only after the transaction
// holding its leaves has COMMITted (its fsync of the WAL).
//
// The origin is the signing key's name: checkpoints are signed by it.
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "base/status.h"
#include "commit/key.h"
#include "commit/merkle.h"

namespace aftune {

inline constexpr std::string_view kReceiptLogFormat = "aftune receipt log v1";

struct AppendedLeaves {
  uint64_t first_index = 0;  // the first appended leaf's index
  // A signed checkpoint of a tree that includes every appended leaf.
  std::string checkpoint;
};

class ReceiptLog {
 public:
  // Opens the log database at `path`, creating it when absent. `signer`
  // must outlive the log. kInvalidArgument when the database belongs to a
  // log with another origin; kCorruption when its tables are inconsistent
  // (hash count, checkpoint) with its leaves; kIOError from SQLite.
  static Result<std::unique_ptr<ReceiptLog>> Open(const std::string& path, const PrivateKey& signer);
  ~ReceiptLog();  // REQUIRES: no Append in progress
  ReceiptLog(const ReceiptLog&) = delete;
  ReceiptLog& operator=(const ReceiptLog&) = delete;

  const std::string& origin() const { return signer_.name(); }

  // Appends `count` leaves at consecutive indexes first, first+1, …: leaf k
  // is make_leaf(first + k) (called on this thread, outside any lock).
  // Returns once every one of them is committed. After a failed commit the
  // log refuses every later append (the indexes handed out are lost).
  // REQUIRES: count >= 1; make_leaf does not call back into the log.
  Result<AppendedLeaves> Append(uint64_t count, const std::function<std::string(uint64_t index)>& make_leaf);

  // Committed leaves.
  uint64_t size() const;
  // The latest signed checkpoint (of size()).
  std::string LatestCheckpoint() const;
  // Leaf `index`'s bytes. kNotFound when index >= size().
  Result<std::string> Leaf(uint64_t index);
  // RFC 6962 root of the first `size` leaves. kInvalidArgument when size > size().
  Result<Hash> Root(uint64_t size);
  // RFC 6962 PATH(index, D[size]). kInvalidArgument unless index < size <= size().
  Result<InclusionProof> ProveInclusion(uint64_t index, uint64_t size);
  // RFC 6962 PROOF(old_size, D[new_size]).
  // kInvalidArgument unless old_size <= new_size <= size().
  Result<ConsistencyProof> ProveConsistency(uint64_t old_size, uint64_t new_size);

 private:
  class Store;
  struct Waiter;  // an Append waiting for its leaves [first, end) to commit
  ReceiptLog(const PrivateKey& signer, std::unique_ptr<Store> store, uint64_t size, std::string checkpoint);
  // As the writer: commits the leaves queued at committed_, then wakes the
  // appenders it finished and the next writer (after releasing mu_).
  // REQUIRES: mu_ held (through lk), writing_ false, a leaf queued at
  // committed_. Returns with mu_ held.
  void WriteQueued(std::unique_lock<std::mutex>& lk);
  Status CheckSize(uint64_t size) const;

  const PrivateKey& signer_;
  std::unique_ptr<Store> store_;

  mutable std::mutex mu_;
  std::map<uint64_t, std::shared_ptr<Waiter>> waiters_;  // by first index; woken one by one, no herd
  uint64_t reserved_ = 0;            // next index to hand out
  uint64_t committed_ = 0;           // durable leaves
  std::map<uint64_t, std::string> pending_;  // built leaves awaiting commit
  bool writing_ = false;             // a transaction is running
  std::string checkpoint_;
  Status failed_;
};

}  // namespace aftune
