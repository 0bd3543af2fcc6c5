#include "serve/inference_service.h"

#include <chrono>
#include <cstdio>
#include <random>

#include <nlohmann/json.hpp>

#include "protocol/receipt_bundle.h"
#include "serve/text_stream.h"

namespace aftune {

using Json = nlohmann::json;

namespace {

std::string Dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

HttpReply ErrorReply(const ApiError& e) { return {e.http_status, e.ToJson()}; }

Json Usage(const InferenceRequest& request, const GenerationResult& out) {
  const int64_t prompt_tokens = static_cast<int64_t>(request.generation.prompt.size());
  const int64_t completion_tokens = static_cast<int64_t>(out.tokens.size());
  return {{"prompt_tokens", prompt_tokens},
          {"completion_tokens", completion_tokens},
          {"total_tokens", prompt_tokens + completion_tokens}};
}

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

std::variant<InferenceRequest, ApiError> InferenceService::Prepare(const ApiRequest& api) const {
  if (api.model != identity_.name) return ModelNotFound(api.model, identity_.name);
  const Tokenizer& tok = *model_.tokenizer;
  InferenceRequest r;
  r.model = api.model;
  GenerationRequest& g = r.generation;
  if (api.endpoint == ApiEndpoint::kChatCompletions) {
    Result<std::vector<int32_t>> ids = ChatPrompt(api.messages);
    if (!ids.ok()) return InvalidRequest("messages", ids.status().message());
    g.prompt = std::move(*ids);
  } else {
    g.prompt.push_back(tok.bos_id());
    for (int32_t id : tok.Encode(api.prompt)) g.prompt.push_back(id);
  }
  g.max_tokens = api.max_tokens;
  g.sampling = api.sampling;
  g.stop = api.stop;
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
  if (Status st = generator_.Validate(g); !st.ok())
    return InvalidRequest(st.message().rfind("logit_bias", 0) == 0 ? "logit_bias" : "", st.message());
  return r;
}

std::variant<std::optional<ReceiptBundle>, ApiError> InferenceService::LogReceipt(const InferenceRequest& request,
                                                                                  const GenerationResult& out) {
  if (!log_) return std::optional<ReceiptBundle>();
  Receipt receipt{log_->origin(), 0,          identity_.model, identity_.adapter, identity_.commitment,
                  RequestDigest(request),     ResponseDigest(out.tokens)};
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
      ReceiptBundle{appended->first_index, std::move(note), appended->checkpoint, request, out.tokens});
}

Json InferenceService::ReplyHead(const char* object, const std::string& id) const {
  return {{"id", id},
          {"object", object},
          {"created", UnixSeconds()},
          {"model", identity_.name},
          {"system_fingerprint", fingerprint_}};
}

HttpReply InferenceService::Handle(ApiEndpoint endpoint, std::string_view body) {
  auto parsed = ParseApiRequest(endpoint, body, options_.max_tokens_limit, model_.default_sampling);
  if (auto* e = std::get_if<ApiError>(&parsed)) return ErrorReply(*e);
  const ApiRequest& api = std::get<ApiRequest>(parsed);
  auto prepared = Prepare(api);
  if (auto* e = std::get_if<ApiError>(&prepared)) return ErrorReply(*e);
  const InferenceRequest& request = std::get<InferenceRequest>(prepared);
  if (api.stream) {
    HttpReply reply;
    reply.stream = [this, api, request](const EventSink& sink) { Stream(api, request, sink); };
    return reply;
  }

  GenerationResult out = queue_.Generate(request.generation);
  auto logged = LogReceipt(request, out);
  if (auto* e = std::get_if<ApiError>(&logged)) return ErrorReply(*e);
  const std::optional<ReceiptBundle>& bundle = std::get<std::optional<ReceiptBundle>>(logged);

  Json choice = {{"index", 0}, {"finish_reason", FinishReasonName(out.finish)}};
  const bool chat = endpoint == ApiEndpoint::kChatCompletions;
  if (chat) {
    choice["message"] = {{"role", "assistant"}, {"content", out.text}};
  } else {
    choice["text"] = out.text;
    choice["logprobs"] = nullptr;
  }
  Json reply = ReplyHead(chat ? "chat.completion" : "text_completion",
                         bundle ? "cmpl-" + std::to_string(bundle->log_index) : "cmpl-unlogged");
  reply["choices"] = Json::array({choice});
  reply["usage"] = Usage(request, out);
  if (bundle) reply["aftune_receipt"] = ReceiptBundleToJson(*bundle);
  return {200, Dump(reply)};
}

void InferenceService::Stream(const ApiRequest& api, const InferenceRequest& request, const EventSink& sink) {
  const bool chat = api.endpoint == ApiEndpoint::kChatCompletions;
  const Json head = ReplyHead(chat ? "chat.completion.chunk" : "text_completion", StreamId());
  // One chunk of choice 0: chat's delta (the role in the first only) or
  // completions' text.
  auto chunk = [&](const std::string& text, bool first, Json finish) {
    Json c = {{"index", 0}};
    if (chat) {
      Json delta = Json::object();
      if (first) delta["role"] = "assistant";
      if (first || !text.empty()) delta["content"] = text;
      c["delta"] = delta;
    } else {
      c["text"] = text;
    }
    c["logprobs"] = nullptr;
    c["finish_reason"] = std::move(finish);
    Json j = head;
    j["choices"] = Json::array({c});
    if (api.include_usage) j["usage"] = nullptr;  // as OpenAI: null until the usage chunk
    return j;
  };
  bool connected = true;
  auto send = [&](const Json& j) {
    if (connected) connected = sink(Dump(j));
  };
  if (chat) send(chunk("", true, nullptr));
  TextStream text(request.generation.stop);
  std::vector<int32_t> tokens;
  const Tokenizer& tok = *model_.tokenizer;
  GenerationResult out = queue_.Generate(request.generation, [&](std::span<const int32_t> fresh) {
    tokens.insert(tokens.end(), fresh.begin(), fresh.end());
    std::string piece = text.Push(tok.Decode(tokens));
    if (!piece.empty()) send(chunk(piece, false, nullptr));
    return connected;
  });
  // A client gone mid-stream cancelled its generation: no answer was
  // delivered, so none is receipted.
  if (out.finish == FinishReason::kCancelled) return;
  auto logged = LogReceipt(request, out);
  if (auto* e = std::get_if<ApiError>(&logged)) {
    send(Json::parse(e->ToJson()));
  } else {
    const std::optional<ReceiptBundle>& bundle = std::get<std::optional<ReceiptBundle>>(logged);
    Json last = chunk(text.Finish(out.text), false, FinishReasonName(out.finish));
    if (api.include_usage) {
      send(last);
      last = head;
      last["choices"] = Json::array();
      last["usage"] = Usage(request, out);
    }
    if (bundle) last["aftune_receipt"] = ReceiptBundleToJson(*bundle);
    send(last);
  }
  if (connected) sink("[DONE]");
}

}  // namespace aftune
