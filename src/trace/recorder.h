// Records a run's training trace (protocol/trace_record.h) while it trains:
// RUN/trace.jsonl, appended one record at a time (fsync'd after the
// block-state records of every step-block: what a resume keeps), with
// the trace root kept as a streaming Merkle root (commit/compact_range.h).
//
// Hashing overlaps training, on a worker thread of the recorder's. Boundary
// tensors are copied there as they are shown (trace/step_digester.h). Block
// states are digested while the next step runs: the forward and backward
// passes only read the trainable tensors and the optimizer state, which the
// trainer changes only after OnGradients (train/trainer.h). The worker
// digests them, appends their records and fsyncs; the recorder waits for it
// in the next step's OnGradients, before that step's record is appended. So
// the file's bytes and order are those of digesting in place, and a record
// is written only once its digest is known. This is not done where a resumable checkpoint may follow the
// records (at multiples of B_S·I_C, the contract's save_steps, and after the
// last step): there EndStep returns with them durable, as a resume needs.
//
// Order of records: the header; the block-state records of step 0; then per
// optimizer step s its step record, and when s + 1 starts a step-block
// ((s + 1) % B_S == 0) or s is the last step, the block-state records of step
// s + 1 (one per layer-block, in block order).
//
// Resume: a run restored from a checkpoint at step k (k a step-block
// boundary, as the contract's save_steps guarantees) keeps exactly the
// records up to the block-states of step k — truncating the file after them —
// and rebuilds the Merkle state from them, so a killed-and-resumed run ends
// with the same file and root as an uninterrupted one.
//
// Keeping (DESIGN.md, "The audit grid"): with a store, the recorder also
// puts into it every layer-block's state at the steps k > 0 that are
// multiples of B_S·I_C and after the last step, and every boundary tensor of
// the steps that are multiples of I_A (trace/tensor_store.h). Step 0 needs
// no copy: it is the contract's base model plus the seed-determined
// initialisation.
//
// Recording only reads the tensors it is shown; it never changes training.
// Not thread-safe (the trainer calls it from its own thread).
// REQUIRES: the trainer's state is not changed between EndStep and the next
// step's OnGradients other than by the trainer's step itself.
#pragma once

#include <cstdint>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "commit/compact_range.h"
#include "protocol/contract.h"
#include "trace/serial_worker.h"
#include "trace/step_digester.h"
#include "trace/store_writer.h"
#include "protocol/trace_record.h"
#include "train/trainer.h"

namespace aftune {

class TraceRecorder : public StepObserver {
 public:
  // Opens `path` for `trainer` at its next_step() k. k == 0: starts the file
  // afresh (header and block-states of step 0). k > 0: keeps the records up
  // to step k as above; kCorruption naming the file and line when the file's
  // header differs from this run's or it lacks any of them;
  // kInvalidArgument when k is neither a step-block boundary nor the end.
  // `store` may be null (keep nothing); it must outlive the recorder, which
  // writes to it in the background (trace/store_writer.h).
  // REQUIRES: every grid value >= 1.
  static Result<std::unique_ptr<TraceRecorder>> Open(const std::string& path, const Hash& contract,
                                                     const AuditGrid& grid, TensorStore* store,
                                                     const Trainer& trainer);
  ~TraceRecorder() override;

  void OnActivation(int64_t step, int64_t micro, int64_t boundary, const Tensor& x) override;
  void OnGradient(int64_t step, int64_t micro, int64_t boundary, const Tensor& dx) override;
  // Waits for the block states digested in the background, if any.
  void OnGradients(int64_t step, const TensorMap& grads) override;

  // After trainer.RunStep(this) returned `r`: appends its step record and,
  // at a step-block end, the block-state records — after every tensor kept
  // so far is durable (and reporting a failure to keep one) — or starts
  // them in the background as above. Reports a failure of the block-state
  // records written in the background during the step.
  Status EndStep(const StepReport& r, const Trainer& trainer);

  // The block states kept in the store at `step` (in block order), when the
  // last block-state records were of that step and kept: what a resumable
  // checkpoint there can name instead of copying (trace/store_checkpoint.h).
  // Null otherwise.
  const std::vector<Hash>* KeptStates(int64_t step) const {
    return kept_step_ == step && !kept_states_.empty() ? &kept_states_ : nullptr;
  }

  // REQUIRES: no block states in the background (after the last EndStep).
  Hash root() const;
  uint64_t records() const;

 private:
  TraceRecorder() = default;
  Status Append(const std::string& line);
  // The block-state records of `step`, in the background where allowed.
  Status StartBlockStates(int64_t step, const Trainer& trainer);
  Status AppendBlockStates(int64_t step, const Trainer& trainer, uint64_t kept_ticket);
  // The status of the block states written in the background, once done.
  Status AwaitBlockStates();
  Status KeepPrefix(const std::string& header, int64_t k);
  // Where a resumable checkpoint may follow: the steps k > 0 that are
  // multiples of B_S·I_C, and the last. The states kept, and the block
  // states never written in the background.
  bool CheckpointStep(int64_t step) const;

  std::string path_;
  int fd_ = -1;
  AuditGrid grid_;
  int64_t total_steps_ = 0;
  std::unique_ptr<StoreWriter> writer_;  // null: keep nothing
  std::unique_ptr<SerialWorker> worker_;  // hashes while the trainer goes on
  std::unique_ptr<StepDigester> digester_;
  MerkleBuilder tree_;
  int64_t kept_step_ = -1;
  std::vector<Hash> kept_states_;
  // The block-state records being written in the background (invalid when
  // none), and the outcome of the last ones, until EndStep reports it.
  std::future<Status> pending_;
  Status background_;
};

}  // namespace aftune
