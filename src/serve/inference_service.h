// The inference service behind the HTTP API: turns a request body into a
// completion, a signed receipt appended durably to the receipt log, and the
// OpenAI-shaped JSON reply (docs/formats.md, "Inference HTTP API").
//
// Order of work for one request: parse and validate (errors: 4xx, no
// receipt) → tokenize (completions: BOS + Encode(prompt) per text prompt,
// token-id prompts as given; chat: the model's
// chat template with the generation prompt, encoded, else the default
// layout's EncodeChatPrompt) → one request per choice (api_response.h
// numbers them) → decode in a shared batch (BatchQueue) → a receipt per choice signed
// over (log index, served identity, request digest, response digest) and
// appended to the log; only after that append is durable is the reply built.
// A failed append is a 500 with no completion in it. A streamed answer
// ("stream": true) sends its text as it is sampled and its receipt, logged
// the same way, in the final event; a failed append there is an error event
// and no finish. A request whose client goes away is cancelled at the next
// decode step and nothing is receipted for it: streamed, when a write to it
// fails; not streamed, when the `client_gone` Handle was given says so.
//
// Thread safety: Handle and ModelsJson may be called from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "commit/key.h"
#include "commit/sha256.h"
#include "infer/generator.h"
#include "infer/served_model.h"
#include "serve/api_request.h"
#include "serve/batch_queue.h"
#include "serve/receipt_log.h"
#include "protocol/receipt_bundle.h"
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

// Takes the data of one server-sent event; false once the client is gone.
using EventSink = std::function<bool(const std::string& data)>;

struct HttpReply {
  HttpReply() = default;
  HttpReply(int status_, std::string body_) : status(status_), body(std::move(body_)) {}
  int status = 200;
  std::string body;  // JSON; unused when `stream` is set
  // Set for a streamed 200 ("stream": true): writes the data of each event
  // to the sink, in order, the last one "[DONE]". Runs on the connection's
  // thread once the headers are sent.
  std::function<void(const EventSink&)> stream;
};

class InferenceService {
 public:
  // `model`, `key` and `log` outlive the service. Receipts are signed with
  // `key`; REQUIRES: log->origin() == key.name(). log == nullptr serves
  // without receipts: only for measuring what receipts cost (serve_bench).
  InferenceService(const ServedModel& model, ServedIdentity identity, const PrivateKey& key, ReceiptLog* log,
                   ServiceOptions options);

  // `client_gone` (may be empty) is polled at each decode step of a
  // non-streamed answer; true cancels it, and the reply (499, never
  // delivered) has no completion and no receipt.
  HttpReply Handle(ApiEndpoint endpoint, std::string_view body, const std::function<bool()>& client_gone = {});
  // GET /v1/models.
  std::string ModelsJson() const;
  // GET /v1/models/{id}: the model object, or a 404 model_not_found.
  HttpReply ModelReply(const std::string& id) const;
  // "fp_" + 16 hex digits of the served weights' digest (of SHA-256 over the
  // model's and the adapter's digests when serving an adapter).
  const std::string& system_fingerprint() const { return fingerprint_; }
  const ServedIdentity& identity() const { return identity_; }

 private:
  // The requests the model runs, one per choice (prompt i, choice j at
  // i × n + j, j its Philox stream), or the error to reply with.
  std::variant<std::vector<InferenceRequest>, ApiError> Prepare(const ApiRequest& api) const;
  // The request of prompt `prompt` (chat: 0), choice 0.
  std::variant<InferenceRequest, ApiError> PrepareOne(const ApiRequest& api, size_t prompt) const;
  // Receives choice k's tokens sampled since its last call, on that
  // choice's thread; false cancels it (BatchQueue::TokenSink).
  using ChoiceSink = std::function<bool(size_t k, std::span<const int32_t> tokens)>;
  // Every choice generated at once through the shared batch.
  std::vector<GenerationResult> GenerateChoices(const std::vector<InferenceRequest>& requests,
                                                const ChoiceSink& on_tokens = {});
  // The prompt ids of a chat request (see the order of work above).
  Result<std::vector<int32_t>> ChatPrompt(const std::vector<ChatMessage>& messages) const;
  // Signs and durably logs the receipt of `out`; nullopt without a log.
  // `logprobs`: non-null iff request.logprobs >= 0.
  std::variant<std::optional<ReceiptBundle>, ApiError> LogReceipt(const InferenceRequest& request,
                                                                  const GenerationResult& out,
                                                                  const std::vector<PositionLogprobs>* logprobs = nullptr);
  nlohmann::json ModelJson() const;  // one entry of /v1/models
  // The fields every reply and chunk starts with.
  nlohmann::json ReplyHead(const char* object, const std::string& id) const;
  // The events of a streamed answer (see HttpReply::stream).
  void Stream(const ApiRequest& api, const std::vector<InferenceRequest>& requests, const EventSink& sink);

  const ServedModel& model_;
  const ServedIdentity identity_;
  const PrivateKey& key_;
  ReceiptLog* log_;
  const ServiceOptions options_;
  const std::string fingerprint_;
  Generator generator_;
  BatchQueue queue_;
};

}  // namespace aftune
