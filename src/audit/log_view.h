// What the inference auditor asks of a receipt log: its latest signed
// checkpoint and proofs. Two sources: a server over HTTP (ServeClient, as
// `aftune audit infer` does) and a ReceiptLog in this process (tests and
// eval/infer_attacks_eval.cc).
//
// Trust: everything a log view returns is suspect; the auditor opens notes
// with the provider's key and verifies every proof (commit/merkle.h).
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"
#include "commit/merkle.h"
#include "serve/client.h"
#include "serve/receipt_log.h"

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

// A server's log endpoints. `client` outlives the view.
class ServerLogView : public LogView {
 public:
  explicit ServerLogView(ServeClient& client) : client_(client) {}
  Result<std::string> LatestCheckpoint() override { return client_.LatestCheckpoint(); }
  Result<InclusionProof> ProveInclusion(uint64_t index, uint64_t size) override {
    return client_.ProveInclusion(index, size);
  }
  Result<ConsistencyProof> ProveConsistency(uint64_t old_size, uint64_t new_size) override {
    return client_.ProveConsistency(old_size, new_size);
  }

 private:
  ServeClient& client_;
};

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
