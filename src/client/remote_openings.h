// The remote OpeningSource: a provider's audit service (aftune provide)
// over HTTP, spoken as protocol/audit_api.h specifies. The auditor's door
// to a run it does not hold on disk.
//
// Trust: every answer is suspect. This source checks form (the strict
// parsers of protocol/audit_api.h: the lines asked, in order; F32 tensors
// exactly named) and bounds; the audit checks content before use (lines by
// their inclusion proofs under the commitment's trace root, tensors by the
// digests the proven lines commit to), so a lying provider fails a check.
//
// Bounds on every request: connect_timeout; read_timeout, the longest
// silence; deadline, the whole answer (an answer that drips is cut off);
// max_answer_bytes (an answer announcing or sending more is cut off).
// A transport failure or a 5xx answer is retried, up to `attempts` in all,
// with doubling pauses; a cut-off, a 4xx or a malformed answer is not.
//
// Errors: kNotFound for a 404, kInvalidArgument for another 4xx (the
// provider's message quoted: a refused token), kIOError for the transport,
// a 5xx, a deadline or a size cap, kCorruption for a malformed answer; each
// names the request.
//
// Thread safety: one RemoteOpenings per thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "commit/sha256.h"
#include "protocol/audit_api.h"
#include "protocol/opening.h"

namespace httplib {
class Client;
}

namespace aftune {

struct RemoteLimits {
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds read_timeout{30000};
  std::chrono::milliseconds deadline{300000};
  uint64_t max_answer_bytes = uint64_t{4} << 30;
  int attempts = 3;
  std::chrono::milliseconds first_pause{100};
};

// What a RemoteOpenings fetched: requests sent (retries included) and the
// bytes of the answers' bodies, by kind.
struct FetchTally {
  uint64_t requests = 0;
  uint64_t line_bytes = 0, state_bytes = 0, boundary_bytes = 0;
  uint64_t lines = 0, states = 0, boundaries = 0;  // answers used
  uint64_t bytes() const { return line_bytes + state_bytes + boundary_bytes; }
};

class RemoteOpenings : public OpeningSource {
 public:
  // url: "http://HOST:PORT" (no path; https is not supported); the run is
  // the one whose signed commitment note has SHA-256 `commitment_digest`.
  // kInvalidArgument for another url form or an empty token.
  static Result<std::unique_ptr<RemoteOpenings>> Create(const std::string& url, std::string token,
                                                        const Hash& commitment_digest, RemoteLimits limits = {});
  ~RemoteOpenings() override;

  const FetchTally& fetched() const { return tally_; }

  // Asks the provider which runs the token opens (GET /v1/audit/commitments)
  // and requires this run among them: before an audit, so that a refused
  // token or an unreachable provider means "could not audit", not a failed
  // check. kInvalidArgument for a refused token, kNotFound when the run is
  // not listed, otherwise as every request.
  Status CheckAccess();

  Result<std::vector<OpenedLine>> Lines(std::span<const uint64_t> indices) override;
  Result<TensorMap> BlockState(int64_t step, int64_t block) override;
  Result<std::vector<Tensor>> Boundary(int64_t step, int64_t boundary, BoundaryKind kind) override;

 private:
  RemoteOpenings(std::string url, std::string token, const Hash& run, RemoteLimits limits);
  // The body of a 200 answer to `method` `path`, within the limits.
  Result<std::string> Fetch(const std::string& method, const std::string& path, const std::string& body,
                            uint64_t* kind_bytes);
  Result<std::string> FetchOnce(const std::string& method, const std::string& path, const std::string& body,
                                uint64_t* kind_bytes, bool* retry);

  std::string url_, token_;
  Hash run_{};
  RemoteLimits limits_;
  std::unique_ptr<httplib::Client> http_;
  FetchTally tally_;
};

// A bearer token file: the secret on one line (a trailing LF allowed), no
// whitespace. kInvalidArgument naming the file otherwise.
Result<std::string> ReadBearerTokenFile(const std::string& path);

}  // namespace aftune
