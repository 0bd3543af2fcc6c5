// An HTTP client for aftune's inference server: the completion endpoints and
// the receipt log's endpoints (docs/formats.md, "Inference HTTP API"). Used
// by `aftune client` and by the inference auditor to fetch receipts,
// checkpoints and proofs.
//
// Trust: everything a server returns is suspect. This client checks only
// that replies have the documented shape (hex hashes, JSON types); callers
// verify signatures (OpenNote), proofs (commit/merkle.h) and receipt bundles
// (CheckReceiptBundle) themselves.
//
// Errors: a 4xx reply is kInvalidArgument carrying the server's error
// message; a 5xx reply, an unreachable server or a malformed reply is
// kIOError / kCorruption.
//
// Thread safety: one ServeClient per thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "commit/merkle.h"

namespace httplib {
class Client;
}

namespace aftune {

class ServeClient {
 public:
  // url: "http://HOST:PORT" (no path; https is not supported).
  // kInvalidArgument for any other form. Connects lazily.
  static Result<std::unique_ptr<ServeClient>> Create(const std::string& url);
  ~ServeClient();

  const std::string& url() const { return url_; }

  // POST /v1/completions or /v1/chat/completions with an OpenAI request
  // object; the reply object (with its "aftune_receipt").
  Result<nlohmann::json> Complete(const nlohmann::json& request);
  Result<nlohmann::json> ChatComplete(const nlohmann::json& request);
  // GET /v1/models: the served model names.
  Result<std::vector<std::string>> ModelNames();

  // GET /v1/log/checkpoint: the latest signed checkpoint note.
  Result<std::string> LatestCheckpoint();
  // GET /v1/log/receipts/<index>: the signed receipt note at `index`.
  Result<std::string> ReceiptAt(uint64_t index);
  Result<InclusionProof> ProveInclusion(uint64_t index, uint64_t size);
  Result<ConsistencyProof> ProveConsistency(uint64_t old_size, uint64_t new_size);

 private:
  ServeClient(std::string url, std::unique_ptr<httplib::Client> http);
  Result<nlohmann::json> Get(const std::string& path);
  Result<nlohmann::json> Post(const std::string& path, const nlohmann::json& body);

  std::string url_;
  std::unique_ptr<httplib::Client> http_;
};

}  // namespace aftune
