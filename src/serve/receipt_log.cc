#include "serve/receipt_log.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <thread>
#include <utility>
#include <vector>

#include "commit/checkpoint.h"
#include "commit/encoding.h"
#include "commit/note.h"
#include "commit/tlog.h"
#include "serve/pg_log_store.h"
#include "serve/postgres.h"
#include "serve/sqlite_log_store.h"

namespace aftune {

namespace {

// Leaves written per transaction at most: bounds a transaction's memory and
// the latency of the appends queued behind it.
constexpr uint64_t kMaxLeavesPerCommit = 1 << 16;

// How long a writer waits, before taking the lock, for the appends of the
// previous batch to come back (see WriteBatch).
constexpr std::chrono::microseconds kLinger{1000};

// Appends of a batch a writer wakes to build leaves beside it: one per
// other core. Waking every appender of a batch costs more in wake-ups than
// it gains when leaves are cheap, and cores bound what it can gain.
const size_t kHelpers = std::max(1u, std::thread::hardware_concurrency()) - 1;

std::string SignCheckpoint(const PrivateKey& signer, uint64_t size, const Hash& root) {
  Result<std::string> text = FormatCheckpoint(Checkpoint{signer.name(), size, root, {}});
  AFTUNE_CHECK(text.ok());  // the origin is a key's name, hence valid
  Result<std::string> note = SignNote(*text, signer);
  AFTUNE_CHECK(note.ok());  // a checkpoint is a valid note text
  return std::move(*note);
}

// The stored hashes of the complete subtrees that make up a tree of `size`
// leaves (one per set bit of size): all a transaction appending at `size`
// reads of the hashes stored before it.
std::vector<uint64_t> FrontierIndexes(uint64_t size) {
  std::vector<uint64_t> out;
  for (int level = 63; level >= 0; --level)
    if ((size >> level) & 1) out.push_back(StoredHashIndex(level, (size >> level) - 1));
  return out;
}

// The hashes a transaction sees: those stored before it (fetched from the
// database once each) and those it appends, from `base` on.
class TransactionHashes : public HashReader {
 public:
  TransactionHashes(HashReader& stored, uint64_t base) : stored_(stored), base_(base) {}

  Result<std::vector<Hash>> ReadHashes(std::span<const uint64_t> indexes) override {
    std::vector<uint64_t> missing;
    for (uint64_t i : indexes)
      if (i < base_ && !fetched_.count(i)) missing.push_back(i);
    if (!missing.empty()) {
      AFTUNE_ASSIGN_OR_RETURN(std::vector<Hash> got, stored_.ReadHashes(missing));
      for (size_t k = 0; k < missing.size(); ++k) fetched_[missing[k]] = got[k];
    }
    std::vector<Hash> out;
    out.reserve(indexes.size());
    for (uint64_t i : indexes) {
      AFTUNE_CHECK(i < base_ + added_.size());  // tlog reads only hashes that exist
      out.push_back(i < base_ ? fetched_.at(i) : added_[i - base_]);
    }
    return out;
  }

  void Add(const std::vector<Hash>& hashes) { added_.insert(added_.end(), hashes.begin(), hashes.end()); }
  const std::vector<Hash>& added() const { return added_; }

 private:
  HashReader& stored_;
  const uint64_t base_;
  std::map<uint64_t, Hash> fetched_;
  std::vector<Hash> added_;
};

// Checks a log's tables under the write lock (so that no replica appends
// meanwhile): format, origin, no missing leaf or hash, and a checkpoint
// signed by `signer` over the stored leaves. Returns the head.
Result<LogHead> CheckStoredLog(LogStore& store, const PrivateKey& signer) {
  const std::string& db = store.name();
  AFTUNE_ASSIGN_OR_RETURN(std::unique_ptr<LogTransaction> tx, store.Begin());
  Result<std::string> format = tx->Meta("format");
  if (!format.ok() || *format != kReceiptLogFormat)
    return Status::Corruption(db + ": not an aftune receipt log (" +
                              (format.ok() ? "format '" + *format + "'" : format.status().message()) +
                              ", expected '" + std::string(kReceiptLogFormat) + "')");
  AFTUNE_ASSIGN_OR_RETURN(std::string origin, tx->Meta("origin"));
  if (origin != signer.name())
    return Status::InvalidArgument(db + ": the log's origin is '" + origin + "', the signing key is '" +
                                   signer.name() + "'");
  AFTUNE_ASSIGN_OR_RETURN(TableRows leaves, tx->Leaves());
  AFTUNE_ASSIGN_OR_RETURN(TableRows hashes, tx->Hashes());
  const uint64_t size = leaves.end;
  if (leaves.count != size)
    return Status::Corruption(db + ": " + std::to_string(size - leaves.count) + " of the leaves below index " +
                              std::to_string(size) + " are missing");
  if (hashes.count != hashes.end || hashes.end != StoredHashCount(size))
    return Status::Corruption(db + ": " + std::to_string(hashes.count) + " stored hashes (up to index " +
                              std::to_string(hashes.end) + ") for " + std::to_string(size) + " leaves, expected " +
                              std::to_string(StoredHashCount(size)));
  AFTUNE_ASSIGN_OR_RETURN(std::string note, tx->Meta("checkpoint"));
  PublicKey known[] = {signer.public_key()};
  Result<Note> opened = OpenNote(note, known);
  if (!opened.ok()) return Status::Corruption(db + ": checkpoint: " + opened.status().message());
  Result<Checkpoint> cp = ParseCheckpoint(opened->text);
  if (!cp.ok()) return Status::Corruption(db + ": checkpoint: " + cp.status().message());
  AFTUNE_ASSIGN_OR_RETURN(Hash root, TreeRoot(size, *tx));
  if (cp->size != size || cp->root != root)
    return Status::Corruption(db + ": the checkpoint (size " + std::to_string(cp->size) +
                              ") does not match the stored leaves (size " + std::to_string(size) + ")");
  return LogHead{size, std::move(note)};
}

}  // namespace

struct ReceiptLog::Request {
  Request(uint64_t n, const std::function<std::string(uint64_t)>& f) : count(n), make_leaf(f) {}
  const uint64_t count;
  const std::function<std::string(uint64_t)>& make_leaf;
  // kQueued → kTaken (by a writer, which gave it `first`) → kDone.
  enum class Stage { kQueued, kTaken, kDone } stage = Stage::kQueued;
  uint64_t first = 0;
  std::vector<std::string> leaves;  // built by whichever thread claimed it
  Status status;           // once kDone
  std::string checkpoint;  // once kDone and committed
  std::condition_variable cv;
};

Result<std::unique_ptr<ReceiptLog>> ReceiptLog::Open(const std::string& db, const PrivateKey& signer) {
  const LogGenesis genesis{signer.name(), SignCheckpoint(signer, 0, EmptyTreeRoot())};
  AFTUNE_ASSIGN_OR_RETURN(std::unique_ptr<LogStore> store,
                          IsPostgresUri(db) ? OpenPgLogStore(db, genesis) : OpenSqliteLogStore(db, genesis));
  AFTUNE_ASSIGN_OR_RETURN(LogHead head, CheckStoredLog(*store, signer));
  return std::unique_ptr<ReceiptLog>(new ReceiptLog(signer, std::move(store), std::move(head)));
}

ReceiptLog::ReceiptLog(const PrivateKey& signer, std::unique_ptr<LogStore> store, LogHead head)
    : signer_(signer), store_(std::move(store)), head_(std::move(head)) {}

ReceiptLog::~ReceiptLog() {
  std::lock_guard<std::mutex> lk(mu_);
  AFTUNE_CHECK(!writing_ && queue_.empty());
}

Result<AppendedLeaves> ReceiptLog::Append(uint64_t count, const std::function<std::string(uint64_t)>& make_leaf) {
  AFTUNE_CHECK(count >= 1);
  auto me = std::make_shared<Request>(count, make_leaf);  // shared: a writer may notify it after we return
  std::unique_lock<std::mutex> lk(mu_);
  queue_.push_back(me);
  queued_leaves_ += count;
  if (lingering_ && queued_leaves_ >= last_batch_) linger_cv_.notify_one();
  while (me->stage != Request::Stage::kDone) {
    if (me->stage == Request::Stage::kQueued && !writing_) {
      WriteBatch(lk, *me);
    } else if (next_to_build_ < building_.size()) {
      HelpBuild(lk);
    } else {
      me->cv.wait(lk);
    }
  }
  if (!me->status.ok()) return me->status.WithContext("receipt log append");
  return AppendedLeaves{me->first, std::move(me->checkpoint)};
}

void ReceiptLog::HelpBuild(std::unique_lock<std::mutex>& lk) {
  while (next_to_build_ < building_.size()) {
    const std::shared_ptr<Request> r = building_[next_to_build_++];
    lk.unlock();
    std::vector<std::string> leaves;
    leaves.reserve(r->count);
    for (uint64_t k = 0; k < r->count; ++k) leaves.push_back(r->make_leaf(r->first + k));
    lk.lock();
    r->leaves = std::move(leaves);
    if (--unbuilt_ == 0) built_cv_.notify_one();
  }
}

void ReceiptLog::WriteBatch(std::unique_lock<std::mutex>& lk, Request& self) {
  writing_ = true;
  // Fewer appends queued than the previous transaction carried: its
  // appenders are likely on their way back (woken, about to append again).
  // Give them up to kLinger, once, so that one transaction (one fsync)
  // covers them rather than two.
  if (queued_leaves_ < last_batch_) {
    lingering_ = true;
    linger_cv_.wait_for(lk, kLinger, [this] { return queued_leaves_ >= last_batch_; });
    lingering_ = false;
  }
  lk.unlock();
  Result<std::unique_ptr<LogTransaction>> tx = store_->Begin();
  Result<uint64_t> size = tx.ok() ? (*tx)->Size() : Result<uint64_t>(tx.status());
  lk.lock();
  std::vector<std::shared_ptr<Request>> batch;
  Status status = size.status();
  if (!status.ok()) {
    batch.assign(queue_.begin(), queue_.end());  // none of them can be written now
    queue_.clear();
    queued_leaves_ = 0;
  }
  // Take the queued appends, give them their indexes and build their leaves
  // (with up to kHelpers of them helping); again for those that arrived
  // meanwhile, until none is waiting.
  uint64_t end = size.ok() ? *size : 0;
  while (status.ok() && !queue_.empty()) {
    std::vector<std::shared_ptr<Request>> taken;
    while (!queue_.empty() &&
           ((batch.empty() && taken.empty()) || end - *size + queue_.front()->count <= kMaxLeavesPerCommit)) {
      taken.push_back(queue_.front());
      queue_.pop_front();
      queued_leaves_ -= taken.back()->count;
      taken.back()->first = end;
      taken.back()->stage = Request::Stage::kTaken;
      end += taken.back()->count;
    }
    if (taken.empty()) break;  // the batch is full
    building_ = taken;
    next_to_build_ = 0;
    unbuilt_ = taken.size();
    std::vector<std::shared_ptr<Request>> helpers;
    for (const auto& r : taken)
      if (r.get() != &self && helpers.size() < kHelpers) helpers.push_back(r);
    lk.unlock();
    for (const auto& r : helpers) r->cv.notify_one();
    lk.lock();
    HelpBuild(lk);
    built_cv_.wait(lk, [this] { return unbuilt_ == 0; });
    building_.clear();
    next_to_build_ = 0;
    batch.insert(batch.end(), taken.begin(), taken.end());
  }
  std::string checkpoint;
  if (status.ok()) {
    std::vector<std::string_view> leaves;
    for (const auto& r : batch)
      for (const std::string& leaf : r->leaves) leaves.push_back(leaf);
    lk.unlock();
    Result<std::string> cp = CommitLeaves(**tx, *size, leaves);
    tx->reset();  // rolls back unless committed
    lk.lock();
    status = cp.status();
    if (cp.ok()) checkpoint = std::move(*cp);
  }
  if (status.ok()) {
    last_batch_ = end - *size;
    std::lock_guard<std::mutex> head_lk(head_mu_);
    if (end >= head_.size) head_ = {end, checkpoint};
  }
  for (const auto& r : batch) {
    r->stage = Request::Stage::kDone;
    r->status = status;
    r->checkpoint = checkpoint;
  }
  writing_ = false;
  // Wake the appends that are done and the next writer, with mu_ released
  // so that they do not wake only to block on it.
  std::vector<std::shared_ptr<Request>> wake;
  for (const auto& r : batch)
    if (r.get() != &self) wake.push_back(r);
  if (!queue_.empty()) wake.push_back(queue_.front());
  lk.unlock();
  for (const auto& r : wake) r->cv.notify_one();
  lk.lock();
}

Result<std::string> ReceiptLog::CommitLeaves(LogTransaction& tx, uint64_t size,
                                             const std::vector<std::string_view>& leaves) {
  TransactionHashes hashes(tx, StoredHashCount(size));
  const std::vector<uint64_t> frontier = FrontierIndexes(size);
  AFTUNE_RETURN_IF_ERROR(hashes.ReadHashes(frontier).status());  // one read for all the batch needs
  for (size_t k = 0; k < leaves.size(); ++k) {
    AFTUNE_ASSIGN_OR_RETURN(std::vector<Hash> stored,
                            StoredHashesForLeaf(size + k, LeafHash(AsBytes(leaves[k])), hashes));
    hashes.Add(stored);
  }
  const uint64_t new_size = size + leaves.size();
  AFTUNE_ASSIGN_OR_RETURN(Hash root, TreeRoot(new_size, hashes));
  std::string cp = SignCheckpoint(signer_, new_size, root);
  AFTUNE_RETURN_IF_ERROR(tx.Append(size, leaves, StoredHashCount(size), hashes.added(), cp));
  AFTUNE_RETURN_IF_ERROR(tx.Commit());
  return cp;
}

LogHead ReceiptLog::Head() const {
  Result<LogHead> read = store_->ReadHead();
  std::lock_guard<std::mutex> lk(head_mu_);
  if (read.ok() && read->size >= head_.size) head_ = std::move(*read);
  return head_;
}

uint64_t ReceiptLog::size() const { return Head().size; }

std::string ReceiptLog::LatestCheckpoint() const { return Head().checkpoint; }

Status ReceiptLog::CheckSize(uint64_t size) const {
  const uint64_t have = this->size();
  if (size > have)
    return Status::InvalidArgument("tree size " + std::to_string(size) + " exceeds the log's size " +
                                   std::to_string(have));
  return Status::Ok();
}

Result<std::string> ReceiptLog::Leaf(uint64_t index) { return store_->ReadLeaf(index); }

Result<Hash> ReceiptLog::Root(uint64_t size) {
  AFTUNE_RETURN_IF_ERROR(CheckSize(size));
  return TreeRoot(size, *store_);
}

Result<InclusionProof> ReceiptLog::ProveInclusion(uint64_t index, uint64_t size) {
  AFTUNE_RETURN_IF_ERROR(CheckSize(size));
  return aftune::ProveInclusion(index, size, *store_);
}

Result<ConsistencyProof> ReceiptLog::ProveConsistency(uint64_t old_size, uint64_t new_size) {
  AFTUNE_RETURN_IF_ERROR(CheckSize(new_size));
  return aftune::ProveConsistency(old_size, new_size, *store_);
}

}  // namespace aftune
