// The OpenAI-shaped JSON of completion replies and streamed chunks
// (docs/formats.md, "Inference HTTP API"): choices, their text or message,
// and usage, for any number of prompts and choices. The orchestration (what
// is generated, logged and sent when) is inference_service.cc's.
//
// A request with P prompts (chat: 1) and n choices per prompt answers
// P × n choices; choice index k = i × n + j for prompt i, choice j, as
// OpenAI numbers them. Choice k ran requests[k] (InferenceService).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "infer/generator.h"
#include "model/tokenizer.h"
#include "protocol/receipt_bundle.h"
#include "protocol/request.h"
#include "serve/api_request.h"

namespace aftune {

// usage: prompt_tokens once per prompt (its choices share it),
// completion_tokens over every choice. REQUIRES: outs.size() ==
// requests.size(), a multiple of n.
nlohmann::json UsageJson(const std::vector<InferenceRequest>& requests, int64_t n,
                         const std::vector<GenerationResult>& outs);

// One choice of a non-streamed reply: index, finish_reason and chat's
// message or completions' text; `receipt` (when given) is the choice's own
// aftune_receipt, set when a reply has several choices. logprobs: null, or
// (`logprobs` non-null, one per generated token) OpenAI's shapes: chat
// {"content": [{token, logprob, bytes, top_logprobs: [{token, logprob,
// bytes}]}]}, completions {tokens, token_logprobs, top_logprobs: [{token:
// logprob}], text_offset}, each token's text its own Decode and the offsets
// within the completion text from 0.
nlohmann::json ChoiceJson(ApiEndpoint endpoint, size_t index, const GenerationResult& out,
                          const std::optional<ReceiptBundle>& receipt,
                          const std::vector<PositionLogprobs>* logprobs, const Tokenizer& tok);

// One choice of a streamed chunk: chat's delta (the role when `first`) or
// completions' text, and finish_reason (null until the last).
nlohmann::json ChunkChoiceJson(ApiEndpoint endpoint, size_t index, const std::string& text, bool first,
                               nlohmann::json finish);

}  // namespace aftune
