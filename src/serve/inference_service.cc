#include "serve/inference_service.h"

#include <chrono>
#include <cstdio>
#include <mutex>
#include <random>
#include <thread>

#include <nlohmann/json.hpp>

#include "protocol/receipt_bundle.h"
#include "serve/api_response.h"
#include "serve/text_stream.h"

namespace aftune {

using Json = nlohmann::json;

namespace {

std::string Dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

HttpReply ErrorReply(const ApiError& e) { return {e.http_status, e.ToJson()}; }

// A streamed answer's id: unique, since its log index is known only at the
// end (a non-streamed answer's id is cmpl-<log index>).
std::string StreamId() {
  std::random_device rd;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%08x%08x%08x", rd(), rd(), rd());
  return std::string("cmpl-stream-") + buf;
}

std::string Fingerprint(const ServedIdentity& id) {
  const Hash weights = id.adapter ? Sha256Of(HashToHex(id.model) + HashToHex(*id.adapter)) : id.model;
  return "fp_" + HashToHex(weights).substr(0, 16);
}

int64_t UnixSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

InferenceService::InferenceService(const ServedModel& model, ServedIdentity identity, const PrivateKey& key,
                                   ReceiptLog* log, ServiceOptions options)
    : model_(model),
      identity_(std::move(identity)),
      key_(key),
      log_(log),
      options_(options),
      fingerprint_(Fingerprint(identity_)),
      generator_(*model.decoder, model.eos_ids,
                 [&tok = *model.tokenizer](const std::vector<int32_t>& ids) { return tok.Decode(ids); }),
      queue_(generator_, options.max_batch) {
  AFTUNE_CHECK(!log || log->origin() == key.name());
}

namespace {
ApiError ModelNotFound(const std::string& asked, const std::string& served) {
  ApiError e = InvalidRequest("model", "the model '" + asked + "' does not exist; this server serves '" + served + "'");
  e.http_status = 404;
  e.code = "model_not_found";
  return e;
}
}  // namespace

Json InferenceService::ModelJson() const {
  Json m = {{"id", identity_.name}, {"object", "model"}, {"created", 0}, {"owned_by", key_.name()}};
  m["aftune"] = {{"model", HashToHex(identity_.model)},
                 {"adapter", identity_.adapter ? Json(HashToHex(*identity_.adapter)) : Json(nullptr)},
                 {"commitment", identity_.commitment ? Json(HashToHex(*identity_.commitment)) : Json(nullptr)},
                 {"system_fingerprint", fingerprint_}};
  return m;
}

std::string InferenceService::ModelsJson() const {
  return Dump(Json{{"object", "list"}, {"data", Json::array({ModelJson()})}});
}

HttpReply InferenceService::ModelReply(const std::string& id) const {
  if (id != identity_.name) return ErrorReply(ModelNotFound(id, identity_.name));
  return {200, Dump(ModelJson())};
}

Result<std::vector<int32_t>> InferenceService::ChatPrompt(const std::vector<ChatMessage>& messages) const {
  if (!model_.chat) return EncodeChatPrompt(*model_.tokenizer, messages);
  // The model's template with the generation prompt, as
  // apply_chat_template(add_generation_prompt=True, tokenize=True): the
  // rendered text encoded, nothing added (the template writes BOS itself).
  jinja::List list;
  for (const ChatMessage& m : messages) {
    list.push_back(jinja::Value::MakeDict(
        {{"role", jinja::Value::String(m.role)}, {"content", jinja::Value::String(m.content)}}));
  }
  AFTUNE_ASSIGN_OR_RETURN(JinjaRendered r, model_.chat->Render(jinja::Value::MakeList(std::move(list)), true));
  if (r.text.empty()) return Status::InvalidArgument("the chat template renders the conversation as empty text");
  return model_.tokenizer->Encode(r.text);
}

std::variant<std::vector<InferenceRequest>, ApiError> InferenceService::Prepare(const ApiRequest& api) const {
  if (api.model != identity_.name) return ModelNotFound(api.model, identity_.name);
  std::vector<InferenceRequest> out;
  const size_t prompts = api.endpoint == ApiEndpoint::kChatCompletions ? 1 : api.prompts.size();
  for (size_t i = 0; i < prompts; ++i) {
    auto one = PrepareOne(api, i);
    if (auto* e = std::get_if<ApiError>(&one)) return *e;
    for (int64_t j = 0; j < api.n; ++j) {  // choice i * n + j: its own Philox stream
      out.push_back(std::get<InferenceRequest>(one));
      out.back().generation.sampling.choice = static_cast<uint32_t>(j);
    }
  }
  return out;
}

std::variant<InferenceRequest, ApiError> InferenceService::PrepareOne(const ApiRequest& api, size_t prompt) const {
  const Tokenizer& tok = *model_.tokenizer;
  InferenceRequest r;
  r.model = api.model;
  GenerationRequest& g = r.generation;
  if (api.endpoint == ApiEndpoint::kChatCompletions) {
    Result<std::vector<int32_t>> ids = ChatPrompt(api.messages);
    if (!ids.ok()) return InvalidRequest("messages", ids.status().message());
    g.prompt = std::move(*ids);
  } else if (api.prompts[prompt].is_ids) {
    g.prompt = api.prompts[prompt].ids;  // the client's tokens, as given
  } else {
    g.prompt = tok.EncodeWithSpecialTokens(api.prompts[prompt].text);  // transformers' add_special_tokens=True
  }
  g.max_tokens = api.max_tokens;
  r.logprobs = api.logprobs;
  g.sampling = api.sampling;
  g.stop = api.stop;
  const std::string logprobs_field = api.endpoint == ApiEndpoint::kChatCompletions ? "top_logprobs" : "logprobs";
  if (r.logprobs > model_.config.vocab_size)  // a receipt lists exactly that many alternatives
    return InvalidRequest(logprobs_field, "asks for " + std::to_string(r.logprobs) + " alternatives; the vocabulary has " +
                                              std::to_string(model_.config.vocab_size) + " tokens");
  const int64_t context = model_.config.max_position_embeddings;
  const int64_t prompt_tokens = static_cast<int64_t>(g.prompt.size());
  const std::string prompt_field = api.endpoint == ApiEndpoint::kChatCompletions ? "messages" : "prompt";
  if (prompt_tokens >= context)
    return InvalidRequest(prompt_field, "the prompt is " + std::to_string(prompt_tokens) +
                                            " tokens; the model's context is " + std::to_string(context));
  if (prompt_tokens + g.max_tokens > context)
    return InvalidRequest("max_tokens", "the prompt (" + std::to_string(prompt_tokens) + " tokens) + max_tokens (" +
                                            std::to_string(g.max_tokens) + ") exceeds the model's context of " +
                                            std::to_string(context) + " tokens");
  if (Status st = generator_.Validate(g); !st.ok()) {
    const std::string& m = st.message();
    return InvalidRequest(m.rfind("logit_bias", 0) == 0 ? "logit_bias" : m.rfind("prompt", 0) == 0 ? prompt_field : "", m);
  }
  return r;
}

std::variant<std::optional<ReceiptBundle>, ApiError> InferenceService::LogReceipt(
    const InferenceRequest& request, const GenerationResult& out, const std::vector<PositionLogprobs>* logprobs) {
  if (!log_) return std::optional<ReceiptBundle>();
  const ReceiptSalt salt = NewReceiptSalt();  // blinds the public log's digests (protocol/receipt.h)
  Receipt receipt{log_->origin(),
                  0,
                  identity_.model,
                  identity_.adapter,
                  identity_.commitment,
                  BlindDigest(salt, RequestDigest(request)),
                  BlindDigest(salt, ResponseDigest(out.tokens, logprobs))};
  std::string note;
  Result<AppendedLeaves> appended = log_->Append(1, [&](uint64_t index) {
    receipt.index = index;
    return note = SignReceipt(receipt, key_);
  });
  if (!appended.ok()) {
    ApiError e;
    e.http_status = 500;
    e.type = "server_error";
    e.message = "the receipt could not be logged: " + appended.status().message();
    return e;
  }
  return std::optional<ReceiptBundle>(
      ReceiptBundle{appended->first_index, std::move(note), appended->checkpoint, request, out.tokens,
                    logprobs ? *logprobs : std::vector<PositionLogprobs>{}, salt});
}

Json InferenceService::ReplyHead(const char* object, const std::string& id) const {
  return {{"id", id},
          {"object", object},
          {"created", UnixSeconds()},
          {"model", identity_.name},
          {"system_fingerprint", fingerprint_}};
}

std::vector<GenerationResult> InferenceService::GenerateChoices(const std::vector<InferenceRequest>& requests,
                                                               const ChoiceSink& on_tokens) {
  std::vector<GenerationResult> outs(requests.size());
  auto run = [&](size_t k) {
    BatchQueue::TokenSink sink;
    if (on_tokens) sink = [&on_tokens, k](std::span<const int32_t> fresh) { return on_tokens(k, fresh); };
    outs[k] = queue_.Generate(requests[k].generation, sink);
  };
  std::vector<std::thread> others;  // the choices decode together in the shared batch
  for (size_t k = 1; k < requests.size(); ++k) others.emplace_back(run, k);
  run(0);
  for (std::thread& t : others) t.join();
  return outs;
}

HttpReply InferenceService::Handle(ApiEndpoint endpoint, std::string_view body,
                                   const std::function<bool()>& client_gone) {
  auto parsed = ParseApiRequest(endpoint, body, options_.max_tokens_limit, model_.default_sampling);
  if (auto* e = std::get_if<ApiError>(&parsed)) return ErrorReply(*e);
  const ApiRequest& api = std::get<ApiRequest>(parsed);
  auto prepared = Prepare(api);
  if (auto* e = std::get_if<ApiError>(&prepared)) return ErrorReply(*e);
  const std::vector<InferenceRequest>& requests = std::get<std::vector<InferenceRequest>>(prepared);
  if (api.stream) {
    HttpReply reply;
    reply.stream = [this, api, requests](const EventSink& sink) { Stream(api, requests, sink); };
    return reply;
  }

  ChoiceSink still_there;
  if (client_gone) still_there = [&client_gone](size_t, std::span<const int32_t>) { return !client_gone(); };
  const std::vector<GenerationResult> outs = GenerateChoices(requests, still_there);
  // As a stream's: an answer no one is left to receive is not receipted.
  for (const GenerationResult& out : outs)
    if (out.finish == FinishReason::kCancelled) return {499, R"({"error": {"message": "the client went away"}})"};
  // Logprobs from one teacher-forced pass: the logits each token was
  // sampled from, bit for bit (batch invariance; infer/generator.h).
  std::vector<std::vector<PositionLogprobs>> logprobs(requests.size());
  const bool with_logprobs = api.logprobs >= 0;
  for (size_t k = 0; k < requests.size() && with_logprobs; ++k)
    logprobs[k] = ReplayLogprobs(*model_.decoder, requests[k].generation, outs[k].tokens, api.logprobs);
  std::vector<std::optional<ReceiptBundle>> bundles;
  for (size_t k = 0; k < requests.size(); ++k) {
    auto logged = LogReceipt(requests[k], outs[k], with_logprobs ? &logprobs[k] : nullptr);
    if (auto* e = std::get_if<ApiError>(&logged)) return ErrorReply(*e);
    bundles.push_back(std::get<std::optional<ReceiptBundle>>(std::move(logged)));
  }
  const bool chat = endpoint == ApiEndpoint::kChatCompletions;
  const bool one = requests.size() == 1;  // one choice: its receipt at the top, as ever
  Json reply = ReplyHead(chat ? "chat.completion" : "text_completion",
                         bundles[0] ? "cmpl-" + std::to_string(bundles[0]->log_index) : "cmpl-unlogged");
  reply["choices"] = Json::array();
  for (size_t k = 0; k < requests.size(); ++k)
    reply["choices"].push_back(ChoiceJson(endpoint, k, outs[k], one ? std::nullopt : bundles[k],
                                          with_logprobs ? &logprobs[k] : nullptr, *model_.tokenizer));
  reply["usage"] = UsageJson(requests, api.n, outs);
  if (one && bundles[0]) reply["aftune_receipt"] = ReceiptBundleToJson(*bundles[0]);
  return {200, Dump(reply)};
}

void InferenceService::Stream(const ApiRequest& api, const std::vector<InferenceRequest>& requests,
                              const EventSink& sink) {
  const bool chat = api.endpoint == ApiEndpoint::kChatCompletions;
  const bool one = requests.size() == 1;
  const Json head = ReplyHead(chat ? "chat.completion.chunk" : "text_completion", StreamId());
  auto chunk = [&](size_t k, const std::string& text, bool first, Json finish) {
    Json j = head;
    j["choices"] = Json::array({ChunkChoiceJson(api.endpoint, k, text, first, std::move(finish))});
    if (api.include_usage) j["usage"] = nullptr;  // as OpenAI: null until the usage chunk
    return j;
  };
  std::mutex send_mu;  // the choices' threads take turns at the sink
  bool connected = true;
  auto send = [&](const Json& j) {
    std::lock_guard<std::mutex> lock(send_mu);
    if (connected) connected = sink(Dump(j));
    return connected;
  };
  if (chat)
    for (size_t k = 0; k < requests.size(); ++k) send(chunk(k, "", true, nullptr));
  std::vector<TextStream> texts;
  for (const InferenceRequest& r : requests) texts.emplace_back(r.generation.stop);
  std::vector<std::vector<int32_t>> tokens(requests.size());
  const Tokenizer& tok = *model_.tokenizer;
  const std::vector<GenerationResult> outs =
      GenerateChoices(requests, [&](size_t k, std::span<const int32_t> fresh) {
        tokens[k].insert(tokens[k].end(), fresh.begin(), fresh.end());
        std::string piece = texts[k].Push(tok.Decode(tokens[k]));
        if (!piece.empty()) return send(chunk(k, piece, false, nullptr));
        std::lock_guard<std::mutex> lock(send_mu);
        return connected;
      });
  // A client gone mid-stream cancelled its generation: no answer was
  // delivered, so none is receipted.
  for (const GenerationResult& out : outs)
    if (out.finish == FinishReason::kCancelled) return;
  // Each choice's finish chunk carries its own receipt; a lone choice's
  // rides in the final chunk, the usage chunk when there is one.
  std::optional<ReceiptBundle> lone;
  bool logged_all = true;
  for (size_t k = 0; k < requests.size() && logged_all; ++k) {
    auto logged = LogReceipt(requests[k], outs[k]);
    if (auto* e = std::get_if<ApiError>(&logged)) {
      send(Json::parse(e->ToJson()));
      logged_all = false;
      break;
    }
    const std::optional<ReceiptBundle>& bundle = std::get<std::optional<ReceiptBundle>>(logged);
    Json last = chunk(k, texts[k].Finish(outs[k].text), false, FinishReasonName(outs[k].finish));
    if (bundle && !one) last["choices"][0]["aftune_receipt"] = ReceiptBundleToJson(*bundle);
    if (bundle && one && !api.include_usage) last["aftune_receipt"] = ReceiptBundleToJson(*bundle);
    if (one) lone = bundle;
    send(last);
  }
  if (logged_all && api.include_usage) {
    Json usage = head;
    usage["choices"] = Json::array();
    usage["usage"] = UsageJson(requests, api.n, outs);
    if (lone) usage["aftune_receipt"] = ReceiptBundleToJson(*lone);
    send(usage);
  }
  std::lock_guard<std::mutex> lock(send_mu);
  if (connected) sink("[DONE]");
}

}  // namespace aftune
