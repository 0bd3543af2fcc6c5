// The auditor's connection to a provider's audit service (aftune provide)
// for one run: bounded HTTP requests, spoken as protocol/audit_api.h
// specifies, and a tally of what they fetched. The run's openings
// (client/remote_openings.h) and its base (client/remote_base.h) are read
// through it.
//
// Bounds on every request: connect_timeout; read_timeout, the longest
// silence; a deadline for the whole answer (an answer that drips is cut
// off); a size cap (an answer announcing or sending more is cut off). A
// transport failure or a 5xx answer is retried, up to `attempts` in all,
// with doubling pauses; a cut-off, a 4xx or a malformed answer is not.
//
// Errors: kNotFound for a 404, kInvalidArgument for another 4xx (the
// provider's message quoted: a refused token), kIOError for the transport,
// a 5xx, a deadline or a size cap; each names the request.
//
// Thread safety: one ProviderClient (and the sources over it) per thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "commit/sha256.h"

namespace httplib {
class Client;
}

namespace aftune {

struct RemoteLimits {
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds read_timeout{30000};
  std::chrono::milliseconds deadline{300000};
  uint64_t max_answer_bytes = uint64_t{4} << 30;
  // A large answer (a base slice) may take `deadline` plus one second per
  // this many bytes of its cap: it must come at least this fast on average.
  uint64_t min_bytes_per_second = uint64_t{4} << 20;
  int attempts = 3;
  std::chrono::milliseconds first_pause{100};
};

// What a ProviderClient fetched: requests sent (retries included) and the
// bytes of the answers' bodies, by kind; and the answers used, by kind.
struct FetchTally {
  uint64_t requests = 0;
  uint64_t line_bytes = 0, state_bytes = 0, boundary_bytes = 0, base_file_bytes = 0, slice_bytes = 0;
  uint64_t lines = 0, states = 0, boundaries = 0, base_files = 0, slices = 0;
  uint64_t bytes() const { return line_bytes + state_bytes + boundary_bytes + base_file_bytes + slice_bytes; }
};

// The bounds of one request's answer.
struct AnswerBounds {
  uint64_t max_bytes = 0;
  std::chrono::milliseconds deadline{0};
};

class ProviderClient {
 public:
  // url: "http://HOST:PORT" (no path; https is not supported); the run is
  // the one whose signed commitment note has SHA-256 `commitment_digest`.
  // kInvalidArgument for another url form or an empty token.
  static Result<std::unique_ptr<ProviderClient>> Create(const std::string& url, std::string token,
                                                        const Hash& commitment_digest, RemoteLimits limits = {});
  ~ProviderClient();

  const std::string& url() const { return url_; }
  const Hash& run() const { return run_; }
  const FetchTally& fetched() const { return tally_; }
  FetchTally& tally() { return tally_; }

  // The limits' cap and deadline; and those of an answer of up to
  // `max_bytes` (a base slice's), given the time the minimum rate allows.
  AnswerBounds DefaultBounds() const;
  AnswerBounds BoundsFor(uint64_t max_bytes) const;

  // Asks the provider which runs the token opens (GET /v1/audit/commitments)
  // and requires this run among them: before an audit, so that a refused
  // token or an unreachable provider means "could not audit", not a failed
  // check. kInvalidArgument for a refused token, kNotFound when the run is
  // not listed, otherwise as every request.
  Status CheckAccess();

  // The body of a 200 answer to `method` `path` within `bounds`, its bytes
  // added to *kind_bytes (retries included).
  Result<std::string> Fetch(const std::string& method, const std::string& path, const std::string& body,
                            uint64_t* kind_bytes, AnswerBounds bounds);

 private:
  ProviderClient(std::string url, std::string token, const Hash& run, RemoteLimits limits);
  Result<std::string> FetchOnce(const std::string& method, const std::string& path, const std::string& body,
                                uint64_t* kind_bytes, AnswerBounds bounds, bool* retry);

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
