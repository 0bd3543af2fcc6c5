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

namespace {

Json LogprobsJson(ApiEndpoint endpoint, const std::vector<int32_t>& tokens,
                  const std::vector<PositionLogprobs>& logprobs, const Tokenizer& tok) {
  AFTUNE_CHECK(tokens.size() == logprobs.size());
  auto text = [&tok](int32_t id) { return tok.Decode(std::vector<int32_t>{id}); };
  auto bytes = [](const std::string& s) {
    Json b = Json::array();
    for (unsigned char c : s) b.push_back(c);
    return b;
  };
  if (endpoint == ApiEndpoint::kChatCompletions) {
    Json content = Json::array();
    for (size_t t = 0; t < tokens.size(); ++t) {
      const std::string s = text(tokens[t]);
      Json top = Json::array();
      for (const TokenLogprob& alt : logprobs[t].top) {
        const std::string a = text(alt.id);
        top.push_back({{"token", a}, {"logprob", alt.logprob}, {"bytes", bytes(a)}});
      }
      content.push_back({{"token", s}, {"logprob", logprobs[t].chosen}, {"bytes", bytes(s)}, {"top_logprobs", top}});
    }
    return {{"content", content}};
  }
  Json strings = Json::array(), chosen = Json::array(), tops = Json::array(), offsets = Json::array();
  size_t offset = 0;
  for (size_t t = 0; t < tokens.size(); ++t) {
    const std::string s = text(tokens[t]);
    strings.push_back(s);
    chosen.push_back(logprobs[t].chosen);
    Json top = Json::object();
    for (const TokenLogprob& alt : logprobs[t].top) top[text(alt.id)] = alt.logprob;
    tops.push_back(top);
    offsets.push_back(offset);
    offset += s.size();
  }
  return {{"tokens", strings}, {"token_logprobs", chosen}, {"top_logprobs", tops}, {"text_offset", offsets}};
}

}  // namespace

Json ChoiceJson(ApiEndpoint endpoint, size_t index, const GenerationResult& out,
                const std::optional<ReceiptBundle>& receipt, const std::vector<PositionLogprobs>* logprobs,
                const Tokenizer& tok) {
  Json choice = {{"index", index}, {"finish_reason", FinishReasonName(out.finish)}};
  if (endpoint == ApiEndpoint::kChatCompletions) {
    choice["message"] = {{"role", "assistant"}, {"content", out.text}};
  } else {
    choice["text"] = out.text;
  }
  choice["logprobs"] = logprobs ? LogprobsJson(endpoint, out.tokens, *logprobs, tok) : Json(nullptr);
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
