// Turns what a StepObserver sees of one optimizer step into the digests of
// its step record (trace/trace_record.h), optionally keeping the boundary
// tensors in a store. The recorder uses it while training; the provider's
// replay (trace/run_openings.h) uses it to regenerate and check a step.
#pragma once

#include <cstdint>

#include "base/status.h"
#include "trace/tensor_store.h"
#include "trace/trace_record.h"

namespace aftune {

class StepDigester : public StepObserver {
 public:
  // Boundary tensors of the steps that are multiples of `keep_interval`
  // go into `store` (null: none kept). REQUIRES: keep_interval >= 1.
  explicit StepDigester(TensorStore* store = nullptr, int64_t keep_interval = 1)
      : store_(store), keep_interval_(keep_interval) {}

  void OnActivation(int64_t step, int64_t micro, int64_t boundary, const Tensor& x) override;
  void OnGradient(int64_t step, int64_t micro, int64_t boundary, const Tensor& dx) override;

  // The record data of the step just run (its report `r`), with the
  // report's sums of squares grouped by `blocks`; resets for the next step. The first failure
  // to keep a tensor of the step, if any.
  Result<StepRecordData> Take(const StepReport& r, const std::vector<LayerSpan>& blocks);

 private:
  void Keep(int64_t step, const Hash& digest, const std::string& name, const Tensor& t);

  TensorStore* store_;
  int64_t keep_interval_;
  Status keep_status_;
  StepRecordData pending_;
};

}  // namespace aftune
