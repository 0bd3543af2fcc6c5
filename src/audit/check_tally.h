// CheckTally: one named audit check over many comparisons (every step of a
// cell, every record of the trace). It passes when all comparisons are
// equal; otherwise its message and evidence are the first failing
// comparison's, with the number of failures.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "audit/audit_report.h"

namespace aftune {

class CheckTally {
 public:
  explicit CheckTally(std::string check, std::optional<Cell> cell = std::nullopt)
      : check_(std::move(check)), cell_(cell) {}

  // Counts one comparison; returns `ok`.
  bool Expect(bool ok, const std::string& message, nlohmann::json evidence) {
    ++compared_;
    if (!ok && ++failed_ == 1) {
      message_ = message;
      evidence_ = std::move(evidence);
    }
    return ok;
  }
  bool ok() const { return failed_ == 0; }

  // The check; `what` names the compared values in the passing message.
  AuditCheck Done(const std::string& what) const {
    AuditCheck c{check_, ok(), "", cell_, evidence_};
    if (ok()) {
      c.message = what + ": " + std::to_string(compared_) + " compared, all equal";
      c.evidence = {{"compared", compared_}};
    } else {
      c.message = message_ + (failed_ > 1 ? " (and " + std::to_string(failed_ - 1) + " more)" : "");
      c.evidence["mismatches"] = failed_;
      c.evidence["compared"] = compared_;
    }
    return c;
  }

 private:
  std::string check_;
  std::optional<Cell> cell_;
  int64_t compared_ = 0, failed_ = 0;
  std::string message_;
  nlohmann::json evidence_ = nlohmann::json::object();
};

}  // namespace aftune
