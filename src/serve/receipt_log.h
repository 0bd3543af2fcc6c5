// The receipt log: an append-only RFC 6962 log of signed receipts with
// signed C2SP checkpoints and O(log n) proofs (DESIGN.md, "Receipts and the
// log"; docs/formats.md, "Receipt log"), kept in a database behind
// serve/log_store.h: an SQLite file owned by one server (the embedded
// default), or a PostgreSQL database shared by serving replicas on any
// machines, with one sequence and one tree (docs/scaling.md).
//
// Every transaction appends a run of leaves, their stored hashes
// (commit/tlog.h), and the checkpoint signed over the new size, so the
// database is always a complete log of some size with its checkpoint;
// kill -9 of a server at any moment loses only appends that were not yet
// acknowledged, and with PostgreSQL the other replicas keep serving.
//
// A receipt names its own log index, so an index is fixed under the
// database's write lock before its leaf is built (signed), and never before:
// a replica cannot know what the others appended until it holds the lock.
// Group commit: concurrent Append calls queue; whichever finds no
// transaction running becomes the writer. It begins a transaction (taking
// the lock), reads the log's size, gives the queued appends their indexes
// in queue order and builds their leaves, with one waiting appender per
// other core woken to build beside it; then the same for appends that
// arrived meanwhile, until none is waiting. It writes them all, signs the
// checkpoint, commits, and wakes them (LevelDB's writer queue, with the
// indexes handed out under the lock). A writer that finds fewer appends
// queued than the last transaction carried first waits up to 1 ms, once,
// for them to come back, so that a steady load shares each commit. An append returns only after the transaction holding its leaves
// has committed. A failed transaction fails the appends in it and leaves
// the log as it was (a leaf built for an index that was not committed is
// never handed out); the next transaction starts afresh from the database.
//
// The origin is the signing key's name: checkpoints are signed by it, and
// every replica of a log signs with the same key.
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/status.h"
#include "commit/key.h"
#include "commit/merkle.h"
#include "serve/log_store.h"

namespace aftune {

struct AppendedLeaves {
  uint64_t first_index = 0;  // the first appended leaf's index
  // A signed checkpoint of a tree that includes every appended leaf.
  std::string checkpoint;
};

class ReceiptLog {
 public:
  // Opens the log in `db`: a PostgreSQL connection URI (postgresql://… or
  // postgres://…) or else the path of an SQLite file, creating the tables
  // when the database holds none. `signer` must outlive the log.
  // kInvalidArgument when the database belongs to a log with another
  // origin; kCorruption when it is not an aftune receipt log of this format
  // (other tables, changed columns) or its tables are inconsistent (missing
  // leaves or hashes, a checkpoint that is not the signer's or not of the
  // stored leaves); kIOError from the database (SQLite's file already in
  // use by another server included).
  static Result<std::unique_ptr<ReceiptLog>> Open(const std::string& db, const PrivateKey& signer);
  ~ReceiptLog();  // REQUIRES: no Append in progress
  ReceiptLog(const ReceiptLog&) = delete;
  ReceiptLog& operator=(const ReceiptLog&) = delete;

  const std::string& origin() const { return signer_.name(); }

  // Appends `count` leaves at consecutive indexes first, first+1, …: leaf k
  // is make_leaf(first + k), called once, while this call waits, on this
  // thread or another appender's, with the log's write transaction open
  // (so keep it short: sign, no I/O, no thread-local state). Returns once every
  // one of them is committed; on an error none of them is acknowledged
  // (after an error on COMMIT itself they may still be in the log, unsent).
  // REQUIRES: count >= 1; make_leaf does not call back into the log.
  Result<AppendedLeaves> Append(uint64_t count, const std::function<std::string(uint64_t index)>& make_leaf);

  // Committed leaves, read from the database: with PostgreSQL they include
  // other replicas' appends. When the database cannot be read, the latest
  // head this log knows.
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
  struct Request;  // one Append call
  ReceiptLog(const PrivateKey& signer, std::unique_ptr<LogStore> store, LogHead head);
  // As the writer: runs one transaction for the queued appends (`self`'s
  // own among them, or left for the next), then hands the writer's role
  // to the next queued append. REQUIRES: mu_ held (through lk), writing_
  // false. Returns with mu_ held.
  void WriteBatch(std::unique_lock<std::mutex>& lk, Request& self);
  // Builds the leaves of the writer's current round that no thread has
  // claimed yet, with mu_ released while building. REQUIRES: mu_ held.
  void HelpBuild(std::unique_lock<std::mutex>& lk);
  // Appends `leaves` at `size` in `tx` and commits; returns the checkpoint.
  Result<std::string> CommitLeaves(LogTransaction& tx, uint64_t size, const std::vector<std::string_view>& leaves);
  LogHead Head() const;
  Status CheckSize(uint64_t size) const;

  const PrivateKey& signer_;
  std::unique_ptr<LogStore> store_;

  std::mutex mu_;
  std::deque<std::shared_ptr<Request>> queue_;  // appends no writer has taken yet
  uint64_t queued_leaves_ = 0;                  // their leaves
  bool writing_ = false;                        // a writer is running a transaction
  uint64_t last_batch_ = 0;                     // leaves the last transaction committed
  bool lingering_ = false;                      // the writer waits on linger_cv_ for them to queue
  std::condition_variable linger_cv_;
  // The writer's current round: its appends, the next one to claim for
  // building, and how many are not built yet (the writer waits on
  // built_cv_ for them).
  std::vector<std::shared_ptr<Request>> building_;
  size_t next_to_build_ = 0;
  size_t unbuilt_ = 0;
  std::condition_variable built_cv_;

  mutable std::mutex head_mu_;
  mutable LogHead head_;  // the latest head known
};

}  // namespace aftune
