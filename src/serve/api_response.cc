#include "serve/api_response.h"

namespace aftune {

using Json = nlohmann::json;

Json UsageJson(const std::vector<InferenceRequest>& requests, int64_t n, const std::vector<GenerationResult>& outs) {
  AFTUNE_CHECK(outs.size() == requests.size() && n >= 1 && requests.size() % static_cast<size_t>(n) == 0);
  int64_t prompt_tokens = 0, completion_tokens = 0;
  for (size_t k = 0; k < requests.size(); ++k) {
    if (k % static_cast<size_t>(n) == 0) prompt_tokens += static_cast<int64_t>(requests[k].generation.prompt.size());
    completion_tokens += static_cast<int64_t>(outs[k].tokens.size());
  }
  return {{"prompt_tokens", prompt_tokens},
          {"completion_tokens", completion_tokens},
          {"total_tokens", prompt_tokens + completion_tokens}};
}

Json ChoiceJson(ApiEndpoint endpoint, size_t index, const GenerationResult& out,
                const std::optional<ReceiptBundle>& receipt) {
  Json choice = {{"index", index}, {"finish_reason", FinishReasonName(out.finish)}};
  if (endpoint == ApiEndpoint::kChatCompletions) {
    choice["message"] = {{"role", "assistant"}, {"content", out.text}};
  } else {
    choice["text"] = out.text;
  }
  choice["logprobs"] = nullptr;
  if (receipt) choice["aftune_receipt"] = ReceiptBundleToJson(*receipt);
  return choice;
}

Json ChunkChoiceJson(ApiEndpoint endpoint, size_t index, const std::string& text, bool first, Json finish) {
  Json c = {{"index", index}};
  if (endpoint == ApiEndpoint::kChatCompletions) {
    Json delta = Json::object();
    if (first) delta["role"] = "assistant";
    if (first || !text.empty()) delta["content"] = text;
    c["delta"] = delta;
  } else {
    c["text"] = text;
  }
  c["logprobs"] = nullptr;
  c["finish_reason"] = std::move(finish);
  return c;
}

}  // namespace aftune
