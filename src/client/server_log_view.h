// The receipt log of an inference server, over its HTTP endpoints
// (protocol/log_view.h).
#pragma once

#include "client/serve_client.h"
#include "protocol/log_view.h"

namespace aftune {

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

}  // namespace aftune
