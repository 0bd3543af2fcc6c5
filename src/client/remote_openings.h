// The remote OpeningSource: a run's openings from the provider's audit
// service (aftune provide), over a ProviderClient (client/provider_client.h:
// bounds, retries, the tally). The auditor's door to a run it does not hold
// on disk.
//
// Trust: every answer is suspect. This source checks form (the strict
// parsers of protocol/audit_api.h: the lines asked, in order; F32 tensors
// exactly named); the audit checks content before use (lines by their
// inclusion proofs under the commitment's trace root, tensors by the
// digests the proven lines commit to), so a lying provider fails a check.
//
// Errors: as ProviderClient's, and kCorruption for a malformed answer; each
// names the request.
#pragma once

#include <cstdint>

#include "client/provider_client.h"
#include "protocol/audit_api.h"
#include "protocol/opening.h"

namespace aftune {

class RemoteOpenings : public OpeningSource {
 public:
  // `provider` outlives this source.
  explicit RemoteOpenings(ProviderClient* provider) : provider_(provider) {}

  Result<std::vector<OpenedLine>> Lines(std::span<const uint64_t> indices) override;
  Result<TensorMap> BlockState(int64_t step, int64_t block) override;
  Result<std::vector<Tensor>> Boundary(int64_t step, int64_t boundary, BoundaryKind kind) override;

 private:
  ProviderClient* provider_;
};

}  // namespace aftune
