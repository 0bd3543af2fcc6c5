// A receipt log in this process as the auditor's LogView
// (protocol/log_view.h): for tests and eval/infer_attacks_eval.cc.
#pragma once

#include "protocol/log_view.h"
#include "serve/receipt_log.h"

namespace aftune {

// A log in this process. `log` outlives the view.
class LocalLogView : public LogView {
 public:
  explicit LocalLogView(ReceiptLog& log) : log_(log) {}
  Result<std::string> LatestCheckpoint() override { return log_.LatestCheckpoint(); }
  Result<InclusionProof> ProveInclusion(uint64_t index, uint64_t size) override {
    return log_.ProveInclusion(index, size);
  }
  Result<ConsistencyProof> ProveConsistency(uint64_t old_size, uint64_t new_size) override {
    return log_.ProveConsistency(old_size, new_size);
  }

 private:
  ReceiptLog& log_;
};

}  // namespace aftune
