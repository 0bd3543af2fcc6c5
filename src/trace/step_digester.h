// Turns what a StepObserver sees of one optimizer step into the digests of
// its step record (protocol/trace_record.h), optionally keeping the boundary
// tensors in a store. The recorder uses it while training; the provider's
// replay (trace/run_openings.h) uses it to regenerate and check a step.
#pragma once

#include <cstdint>

#include "base/status.h"
#include "trace/store_writer.h"
#include "protocol/trace_record.h"

namespace aftune {

class StepDigester : public StepObserver {
 public:
  // Boundary tensors of the steps that are multiples of `keep_interval`
  // go to `writer` (null: none kept). REQUIRES: keep_interval >= 1.
  explicit StepDigester(StoreWriter* writer = nullptr, int64_t keep_interval = 1)
      : writer_(writer), keep_interval_(keep_interval) {}

  void OnActivation(int64_t step, int64_t micro, int64_t boundary, const Tensor& x) override;
  void OnGradient(int64_t step, int64_t micro, int64_t boundary, const Tensor& dx) override;

  // The record data of the step just run (its report `r`), with the
  // report's sums of squares grouped by `blocks`; resets for the next step.
  StepRecordData Take(const StepReport& r, const std::vector<LayerSpan>& blocks);

 private:
  void Keep(int64_t step, const Hash& digest, const std::string& name, const Tensor& t);

  StoreWriter* writer_;
  int64_t keep_interval_;
  StepRecordData pending_;
};

}  // namespace aftune
