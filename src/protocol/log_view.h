// What the inference auditor asks of a receipt log: its latest signed
// checkpoint and proofs. Two sources: a server over HTTP
// (client/server_log_view.h, as `aftune audit infer` does) and a ReceiptLog
// in this process (serve/local_log_view.h: tests and
// eval/infer_attacks_eval.cc).
//
// Trust: everything a log view returns is suspect; the auditor opens notes
// with the provider's key and verifies every proof (commit/merkle.h).
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"
#include "commit/merkle.h"

namespace aftune {

class LogView {
 public:
  virtual ~LogView() = default;
  // The latest signed checkpoint note.
  virtual Result<std::string> LatestCheckpoint() = 0;
  // RFC 6962 PATH(index, D[size]).
  virtual Result<InclusionProof> ProveInclusion(uint64_t index, uint64_t size) = 0;
  // RFC 6962 PROOF(old_size, D[new_size]).
  virtual Result<ConsistencyProof> ProveConsistency(uint64_t old_size, uint64_t new_size) = 0;
};

}  // namespace aftune
