// The inference service behind the HTTP API: turns a request body into a
// completion, a signed receipt appended durably to the receipt log, and the
// OpenAI-shaped JSON reply (docs/formats.md, "Inference HTTP API").
//
// Order of work for one request: parse and validate (errors: 4xx, no
// receipt) → tokenize (completions: BOS + Encode(prompt); chat: the model's
// chat template with the generation prompt, encoded, else the default
// layout's EncodeChatPrompt) → decode in a shared batch (BatchQueue) → receipt signed
// over (log index, served identity, request digest, response digest) and
// appended to the log; only after that append is durable is the reply built.
// A failed append is a 500 with no completion in it.
//
// Thread safety: Handle and ModelsJson may be called from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "commit/key.h"
#include "commit/sha256.h"
#include "infer/generator.h"
#include "infer/served_model.h"
#include "serve/api_request.h"
#include "serve/batch_queue.h"
#include "serve/receipt_log.h"
#include "protocol/request.h"

namespace aftune {

// What every receipt says was served.
struct ServedIdentity {
  std::string name;               // the model name clients ask for
  Hash model{};                   // state digest of model.safetensors as stored
  std::optional<Hash> adapter;    // of the adapter's weights file, when serving one
  std::optional<Hash> commitment; // SHA-256 of the training commitment note, when given
};

struct ServiceOptions {
  int64_t max_tokens_limit = 512;  // the largest max_tokens accepted
  size_t max_batch = 32;           // requests decoded together at most
};

struct HttpReply {
  int status = 200;
  std::string body;  // JSON
};

class InferenceService {
 public:
  // `model`, `key` and `log` outlive the service. Receipts are signed with
  // `key`; REQUIRES: log->origin() == key.name(). log == nullptr serves
  // without receipts: only for measuring what receipts cost (serve_bench).
  InferenceService(const ServedModel& model, ServedIdentity identity, const PrivateKey& key, ReceiptLog* log,
                   ServiceOptions options);

  HttpReply Handle(ApiEndpoint endpoint, std::string_view body);
  // GET /v1/models.
  std::string ModelsJson() const;
  const ServedIdentity& identity() const { return identity_; }

 private:
  // The request the model runs, or the error to reply with.
  std::variant<InferenceRequest, ApiError> Prepare(const ApiRequest& api) const;
  // The prompt ids of a chat request (see the order of work above).
  Result<std::vector<int32_t>> ChatPrompt(const std::vector<ChatMessage>& messages) const;

  const ServedModel& model_;
  const ServedIdentity identity_;
  const PrivateKey& key_;
  ReceiptLog* log_;
  const ServiceOptions options_;
  Generator generator_;
  BatchQueue queue_;
};

}  // namespace aftune
