// Puts objects into a TensorStore on a background thread, so that training
// never waits for compression or for the fsyncs of atomic writes (on this
// project's machines an atomic write costs two fsyncs of several ms each;
// kept synchronously, the boundary tensors of one step would cost a large
// fraction of a step).
//
// The caller hands over copies, or lends tensors it keeps unchanged until
// the next Flush returns; Flush() waits until every object handed over so
// far (FlushThrough: the first `ticket` of them) is durable and returns the
// first failure among them (later Puts after a failure are dropped). The recorder
// flushes before every block-state record, so when the trace shows the
// state at step k, every object kept for the steps before k is on disk.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "trace/tensor_store.h"

namespace aftune {

class StoreWriter {
 public:
  // `store` must outlive the writer.
  explicit StoreWriter(TensorStore* store);
  // Waits for the queue to drain (errors are for Flush to report).
  ~StoreWriter();
  StoreWriter(const StoreWriter&) = delete;
  StoreWriter& operator=(const StoreWriter&) = delete;

  // REQUIRES: the contracts of TensorStore::PutState / PutTensor (the digest
  // is the tensors' own).
  void PutState(const Hash& digest, TensorMap state);
  void PutTensor(const Hash& digest, const std::string& name, Tensor t);
  // The same, written from the caller's tensors without a copy.
  // REQUIRES: they stay alive and unchanged until a Flush() called after
  // this returns.
  void PutLentState(const Hash& digest, TensorRefs state);

  // The objects handed over so far (a ticket for FlushThrough).
  uint64_t submitted();
  Status Flush() { return FlushThrough(submitted()); }
  Status FlushThrough(uint64_t ticket);

 private:
  struct Item {
    Hash digest;
    TensorMap owned;    // the copies handed over, if any
    TensorRefs refs;  // what to write: into `owned`, or lent
  };
  void Enqueue(Item item);
  void Run();

  TensorStore* store_;
  std::mutex mu_;
  std::condition_variable work_, idle_;
  std::deque<Item> queue_;
  uint64_t submitted_ = 0, written_ = 0;  // objects handed over, and done with
  bool stop_ = false;
  Status status_;  // the first failure,
  uint64_t failed_ = UINT64_MAX;  // of this object (counted from 0); later ones are dropped
  std::thread thread_;
};

}  // namespace aftune
