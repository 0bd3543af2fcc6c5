// Turns what a StepObserver sees of one optimizer step into the digests of
// its step record (protocol/trace_record.h), optionally keeping the boundary
// tensors in a store. The recorder uses it while training, hashing on a
// worker thread while the step goes on; the provider's replay
// (trace/run_openings.h) uses it, hashing in place, to regenerate and check
// a step.
#pragma once

#include <atomic>
#include <cstdint>
#include <future>
#include <vector>

#include "base/status.h"
#include "trace/serial_worker.h"
#include "trace/store_writer.h"
#include "protocol/trace_record.h"

namespace aftune {

class StepDigester : public StepObserver {
 public:
  // Boundary tensors of the steps that are multiples of `keep_interval`
  // go to `writer` (null: none kept). With a `worker`, each boundary tensor
  // is copied and hashed (and kept) there; Take waits for it.
  // REQUIRES: keep_interval >= 1; writer and worker outlive the digester.
  explicit StepDigester(StoreWriter* writer = nullptr, int64_t keep_interval = 1, SerialWorker* worker = nullptr)
      : writer_(writer), keep_interval_(keep_interval), worker_(worker) {}
  ~StepDigester() override;
  StepDigester(StepDigester&&) = delete;

  void OnActivation(int64_t step, int64_t micro, int64_t boundary, const Tensor& x) override;
  void OnGradient(int64_t step, int64_t micro, int64_t boundary, const Tensor& dx) override;

  // The record data of the step just run (its report `r`), with the
  // report's sums of squares grouped by `blocks`; resets for the next step.
  // Every boundary tensor seen is kept (handed to the writer) by then.
  StepRecordData Take(const StepReport& r, const std::vector<LayerSpan>& blocks);

 private:
  struct Pending {
    size_t micro, boundary;  // boundary b at [b - 1]
    BoundaryKind kind;
    std::future<Hash> digest;
  };
  void Digest(int64_t step, BoundaryKind kind, int64_t micro, int64_t boundary, const Tensor& t);

  StoreWriter* writer_;
  int64_t keep_interval_;
  SerialWorker* worker_;
  // The boundaries seen, [micro][b - 1], as the record lists them.
  std::vector<std::vector<BoundaryDigests>> boundaries_;
  std::vector<Pending> pending_;
  // Bytes of copies queued on the worker: past a cap, hashing is in place,
  // so that copies never pile up when the worker falls behind.
  std::atomic<uint64_t> queued_bytes_{0};
};

}  // namespace aftune
