// Parsing the bodies of POST /v1/completions and /v1/chat/completions
// (OpenAI's request shapes; docs/formats.md, "Inference HTTP API").
//
// Accepted fields (anything else is an error naming it):
//
//   model        string, required
//   prompt       required for /v1/completions (not allowed in chat): a
//                string, an array of strings, an array of token ids, or an
//                array of arrays of token ids (each non-empty), at most
//                kMaxPrompts prompts; token ids are used as given (no BOS)
//   messages     array of {"role": string, "content": string or array of
//                {"type": "text", "text": string} (joined with "\n"), "name"},
//                required for /v1/chat/completions (not allowed in
//                completions); role "developer" is taken as "system"
//   max_tokens   integer in [1, limit], default 16; chat also takes
//                max_completion_tokens (both given: must be equal)
//   temperature  number >= 0, default the model's, else 1 (0: greedy)
//   top_p        number in (0, 1], default the model's, else 1
//   top_k        integer >= 0, default the model's, else 0 (no limit; an
//                aftune extension)
//   seed         integer in [0, 2^64), default 0
//   presence_penalty, frequency_penalty  numbers in [-2, 2], default 0
//   logit_bias   object {"<token id>": number in [-100, 100]}, default {}
//                (infer/sampler.h has the exact arithmetic)
//   stop         string, array of at most 4 strings, or null
//   n            integer >= 1, default 1: choices per prompt; prompts × n
//                at most kMaxChoices
//   user         string, ignored
//   metadata (object of strings), store, parallel_tool_calls (booleans):
//                ignored, they change nothing about the output
//   echo, tools, ... (kUnimplemented in
//                api_request.cc): refused naming the field unless at the
//                value that changes nothing (false, 0, {}, [], "none")
//   logprobs     completions: integer in [0, 5] (the top alternatives);
//                chat: boolean, with top_logprobs integer in [0, 20]
//                (only with logprobs true); not with stream
//   stream       boolean, default false: the answer as server-sent events
//   stream_options  {"include_usage": boolean} or null; only with stream
//
// Numbers convert to the binary32 nearest to them (temperature, top_p).
// The body must be one JSON object of at most kMaxRequestBytes bytes, nested
// at most kMaxRequestDepth levels, without repeated keys.
//
// Every error names the offending field (ApiError::param) and never throws.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "infer/sampler.h"
#include "model/chat_template.h"

namespace aftune {

inline constexpr size_t kMaxRequestBytes = 1 << 20;
inline constexpr int kMaxRequestDepth = 8;
inline constexpr size_t kMaxStopStrings = 4;
inline constexpr size_t kMaxPrompts = 16;
inline constexpr int64_t kMaxChoices = 64;  // prompts × n in one request

enum class ApiEndpoint { kCompletions, kChatCompletions };

// An OpenAI-style error: {"error": {"message", "type", "param", "code"}}.
struct ApiError {
  int http_status = 400;
  std::string type = "invalid_request_error";
  std::string param;  // the offending field; empty: none
  std::string code;   // e.g. "model_not_found"; empty: none
  std::string message;

  std::string ToJson() const;
};

ApiError InvalidRequest(std::string param, std::string message);

// One prompt of /v1/completions: text (tokenized by the server) or the
// token ids the client gave.
struct ApiPrompt {
  std::string text;
  std::vector<int32_t> ids;
  bool is_ids = false;
};

struct ApiRequest {
  ApiEndpoint endpoint = ApiEndpoint::kCompletions;
  std::string model;
  std::vector<ApiPrompt> prompts;      // completions: prompt i answers choices i*n .. i*n+n-1
  std::vector<ChatMessage> messages;   // chat completions
  int64_t max_tokens = 16;
  int64_t n = 1;  // choices per prompt
  int64_t logprobs = -1;  // -1: none; else the top alternatives to report
  SamplingParams sampling;
  std::vector<std::string> stop;
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
};

// `max_tokens_limit` is the largest max_tokens the server accepts;
// `defaults` gives temperature, top_p and top_k where the body does not (the
// model's, infer/sampler.h DefaultSampling). The receipt binds the values
// used, defaults included.
std::variant<ApiRequest, ApiError> ParseApiRequest(ApiEndpoint endpoint, std::string_view body,
                                                   int64_t max_tokens_limit, const SamplingParams& defaults = {});

}  // namespace aftune
