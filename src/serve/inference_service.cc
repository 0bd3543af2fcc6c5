#include "serve/inference_service.h"

#include <chrono>

#include <nlohmann/json.hpp>

#include "protocol/receipt_bundle.h"

namespace aftune {

using Json = nlohmann::json;

namespace {

std::string Dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

HttpReply ErrorReply(const ApiError& e) { return {e.http_status, e.ToJson()}; }

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
      generator_(*model.decoder, model.eos_ids,
                 [&tok = *model.tokenizer](const std::vector<int32_t>& ids) { return tok.Decode(ids); }),
      queue_(generator_, options.max_batch) {
  AFTUNE_CHECK(!log || log->origin() == key.name());
}

std::string InferenceService::ModelsJson() const {
  Json m = {{"id", identity_.name}, {"object", "model"}, {"created", 0}, {"owned_by", key_.name()}};
  m["aftune"] = {{"model", HashToHex(identity_.model)},
                 {"adapter", identity_.adapter ? Json(HashToHex(*identity_.adapter)) : Json(nullptr)},
                 {"commitment", identity_.commitment ? Json(HashToHex(*identity_.commitment)) : Json(nullptr)}};
  return Dump(Json{{"object", "list"}, {"data", Json::array({m})}});
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
  if (api.model != identity_.name) {
    ApiError e = InvalidRequest("model", "the model '" + api.model + "' does not exist; this server serves '" +
                                             identity_.name + "'");
    e.http_status = 404;
    e.code = "model_not_found";
    return e;
  }
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
  if (Status st = generator_.Validate(g); !st.ok()) return InvalidRequest("", st.message());
  return r;
}

HttpReply InferenceService::Handle(ApiEndpoint endpoint, std::string_view body) {
  auto parsed = ParseApiRequest(endpoint, body, options_.max_tokens_limit);
  if (auto* e = std::get_if<ApiError>(&parsed)) return ErrorReply(*e);
  const ApiRequest& api = std::get<ApiRequest>(parsed);
  auto prepared = Prepare(api);
  if (auto* e = std::get_if<ApiError>(&prepared)) return ErrorReply(*e);
  const InferenceRequest& request = std::get<InferenceRequest>(prepared);

  GenerationResult out = queue_.Generate(request.generation);

  std::optional<ReceiptBundle> bundle;
  if (log_) {
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
      return ErrorReply(e);
    }
    bundle = ReceiptBundle{appended->first_index, std::move(note), appended->checkpoint, request, out.tokens};
  }

  const int64_t prompt_tokens = static_cast<int64_t>(request.generation.prompt.size());
  const int64_t completion_tokens = static_cast<int64_t>(out.tokens.size());
  Json choice = {{"index", 0}, {"finish_reason", FinishReasonName(out.finish)}};
  Json reply;
  if (endpoint == ApiEndpoint::kChatCompletions) {
    choice["message"] = {{"role", "assistant"}, {"content", out.text}};
    reply["object"] = "chat.completion";
  } else {
    choice["text"] = out.text;
    choice["logprobs"] = nullptr;
    reply["object"] = "text_completion";
  }
  reply["id"] = bundle ? "cmpl-" + std::to_string(bundle->log_index) : "cmpl-unlogged";
  reply["created"] = UnixSeconds();
  reply["model"] = identity_.name;
  reply["choices"] = Json::array({choice});
  reply["usage"] = {{"prompt_tokens", prompt_tokens},
                    {"completion_tokens", completion_tokens},
                    {"total_tokens", prompt_tokens + completion_tokens}};
  if (bundle) reply["aftune_receipt"] = ReceiptBundleToJson(*bundle);
  return {200, Dump(reply)};
}

}  // namespace aftune
