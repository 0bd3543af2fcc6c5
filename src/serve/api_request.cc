#include "serve/api_request.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <optional>
#include <limits>
#include <set>

#include <nlohmann/json.hpp>

#include "base/strict_json.h"
#include "commit/encoding.h"
#include "infer/logprobs.h"

namespace aftune {

using Json = nlohmann::json;

namespace {

// One strict reader for bodies as for every outside JSON (base/strict_json.h).
std::variant<Json, ApiError> ParseBody(std::string_view body) {
  StrictJsonOptions strict;
  strict.max_bytes = kMaxRequestBytes;
  strict.max_depth = kMaxRequestDepth;
  strict.code = Status::Code::kInvalidArgument;
  Result<Json> j = ParseStrictJson(body, "the request body", strict);
  if (!j.ok()) return InvalidRequest("", j.status().message());
  return std::move(j).value();
}

// A field's value checked for its type; nullptr when absent (or null).
class Fields {
 public:
  explicit Fields(const Json& obj) : obj_(obj) {}
  const Json* Get(const std::string& key) const {
    auto it = obj_.find(key);
    return it == obj_.end() || it->is_null() ? nullptr : &*it;
  }

 private:
  const Json& obj_;
};

std::string TypeError(const std::string& field, const std::string& want) {
  return "'" + field + "' must be " + want;
}

std::variant<std::string, ApiError> GetString(const Json& v, const std::string& field) {
  if (!v.is_string()) return InvalidRequest(field, TypeError(field, "a string"));
  std::string s = v.get<std::string>();
  if (!IsValidUtf8(s)) return InvalidRequest(field, "'" + field + "' is not valid UTF-8");
  return s;
}

// A number as the nearest binary32.
std::variant<float, ApiError> GetFloat(const Json& v, const std::string& field) {
  if (!v.is_number()) return InvalidRequest(field, TypeError(field, "a number"));
  double d = v.get<double>();
  if (!std::isfinite(d) || std::fabs(d) > std::numeric_limits<float>::max())
    return InvalidRequest(field, "'" + field + "' is out of range");
  return static_cast<float>(d) + 0.0f;  // + 0.0f: -0 becomes +0
}

std::variant<int64_t, ApiError> GetInt(const Json& v, const std::string& field, int64_t lo, int64_t hi) {
  if (!v.is_number_integer()) return InvalidRequest(field, TypeError(field, "an integer"));
  if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(hi))
    return InvalidRequest(field, "'" + field + "' must be at most " + std::to_string(hi));
  int64_t x = v.get<int64_t>();
  if (x < lo || x > hi)
    return InvalidRequest(field, "'" + field + "' must be in [" + std::to_string(lo) + ", " + std::to_string(hi) +
                                     "], got " + std::to_string(x));
  return x;
}

std::variant<std::vector<std::string>, ApiError> GetStop(const Json& v) {
  std::vector<std::string> out;
  if (v.is_string()) {
    auto s = GetString(v, "stop");
    if (auto* e = std::get_if<ApiError>(&s)) return *e;
    out.push_back(std::get<std::string>(s));
    return out;
  }
  if (!v.is_array() || v.size() > kMaxStopStrings)
    return InvalidRequest("stop", TypeError("stop", "a string or an array of at most " +
                                                        std::to_string(kMaxStopStrings) + " strings"));
  for (size_t i = 0; i < v.size(); ++i) {
    auto s = GetString(v[i], "stop[" + std::to_string(i) + "]");
    if (auto* e = std::get_if<ApiError>(&s)) return *e;
    out.push_back(std::get<std::string>(s));
  }
  return out;
}

// A token-id prompt: a non-empty array of integers in [0, 2^31).
std::variant<std::vector<int32_t>, ApiError> GetTokenIds(const Json& v, const std::string& field) {
  if (v.empty()) return InvalidRequest(field, "'" + field + "' is an empty prompt");
  std::vector<int32_t> ids;
  for (size_t i = 0; i < v.size(); ++i) {
    auto id = GetInt(v[i], field + "[" + std::to_string(i) + "]", 0, INT32_MAX);
    if (auto* e = std::get_if<ApiError>(&id)) return *e;
    ids.push_back(static_cast<int32_t>(std::get<int64_t>(id)));
  }
  return ids;
}

// prompt: "text", ["text", ...], [id, ...] or [[id, ...], ...].
std::variant<std::vector<ApiPrompt>, ApiError> GetPrompts(const Json& v) {
  const std::string want = "a string, an array of strings, an array of token ids or an array of token-id arrays";
  if (v.is_string()) {
    auto text = GetString(v, "prompt");
    if (auto* e = std::get_if<ApiError>(&text)) return *e;
    return std::vector<ApiPrompt>{{std::get<std::string>(text), {}, false}};
  }
  if (!v.is_array() || v.empty()) return InvalidRequest("prompt", TypeError("prompt", want));
  if (v[0].is_number()) {  // one prompt of token ids
    auto ids = GetTokenIds(v, "prompt");
    if (auto* e = std::get_if<ApiError>(&ids)) return *e;
    return std::vector<ApiPrompt>{{"", std::get<std::vector<int32_t>>(ids), true}};
  }
  if (v.size() > kMaxPrompts)
    return InvalidRequest("prompt", "'prompt' holds more than " + std::to_string(kMaxPrompts) + " prompts");
  std::vector<ApiPrompt> out;
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string field = "prompt[" + std::to_string(i) + "]";
    ApiPrompt p;
    if (v[i].is_array()) {
      auto ids = GetTokenIds(v[i], field);
      if (auto* e = std::get_if<ApiError>(&ids)) return *e;
      p.ids = std::get<std::vector<int32_t>>(ids);
      p.is_ids = true;
    } else {
      auto text = GetString(v[i], field);
      if (auto* e = std::get_if<ApiError>(&text)) return *e;
      p.text = std::get<std::string>(text);
    }
    out.push_back(std::move(p));
  }
  return out;
}

// A message's content: a string, or an array of text parts
// [{"type": "text", "text": "…"}] joined with "\n" (as vLLM joins them).
std::variant<std::string, ApiError> GetContent(const Json& v, const std::string& field) {
  if (!v.is_array()) return GetString(v, field);
  if (v.empty()) return InvalidRequest(field, TypeError(field, "a string or a non-empty array of text parts"));
  std::string out;
  for (size_t j = 0; j < v.size(); ++j) {
    const std::string part = field + "[" + std::to_string(j) + "]";
    if (!v[j].is_object()) return InvalidRequest(part, TypeError(part, "an object"));
    if (!v[j].contains("type") || v[j]["type"] != "text")
      return InvalidRequest(part + ".type", "'" + part + ".type' must be \"text\": only text content parts are supported");
    for (const auto& [key, value] : v[j].items())
      if (key != "type" && key != "text") return InvalidRequest(part + "." + key, "unknown field '" + part + "." + key + "'");
    if (!v[j].contains("text")) return InvalidRequest(part + ".text", "'" + part + ".text' is missing");
    auto text = GetString(v[j]["text"], part + ".text");
    if (auto* e = std::get_if<ApiError>(&text)) return *e;
    if (j > 0) out += "\n";
    out += std::get<std::string>(text);
  }
  return out;
}

// Roles as the chat template sees them: OpenAI's "developer" is its newer
// name for "system" (the models served here know no other).
std::string TemplateRole(const std::string& role) { return role == "developer" ? "system" : role; }

std::variant<std::vector<ChatMessage>, ApiError> GetMessages(const Json& v) {
  if (!v.is_array() || v.empty()) return InvalidRequest("messages", TypeError("messages", "a non-empty array"));
  std::vector<ChatMessage> out;
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string at = "messages[" + std::to_string(i) + "]";
    if (!v[i].is_object()) return InvalidRequest(at, TypeError(at, "an object"));
    ChatMessage m;
    for (const auto& [key, value] : v[i].items()) {
      if (key != "role" && key != "content" && key != "name")
        return InvalidRequest(at + "." + key, "unknown field '" + at + "." + key + "'");
    }
    for (const char* key : {"role", "content"}) {
      const std::string field = at + "." + key;
      if (!v[i].contains(key)) return InvalidRequest(field, "'" + field + "' is missing");
    }
    auto role = GetString(v[i]["role"], at + ".role");
    if (auto* e = std::get_if<ApiError>(&role)) return *e;
    m.role = TemplateRole(std::get<std::string>(role));
    auto content = GetContent(v[i]["content"], at + ".content");
    if (auto* e = std::get_if<ApiError>(&content)) return *e;
    m.content = std::get<std::string>(content);
    out.push_back(std::move(m));
  }
  return out;
}

// logit_bias: {"<token id>": bias, ...}, the ids canonical decimals (no
// sign, no leading zero), as (id, bias) pairs by ascending id.
std::variant<std::vector<std::pair<int32_t, float>>, ApiError> GetLogitBias(const Json& v) {
  if (!v.is_object()) return InvalidRequest("logit_bias", TypeError("logit_bias", "an object of token ids to numbers"));
  std::vector<std::pair<int32_t, float>> out;
  for (const auto& [key, value] : v.items()) {
    const std::string field = "logit_bias." + key;
    const bool canonical = !key.empty() && key.size() <= 10 && (key == "0" || key[0] != '0') &&
                           std::all_of(key.begin(), key.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!canonical || std::stoll(key) > INT32_MAX)
      return InvalidRequest("logit_bias", "'logit_bias' keys must be token ids (canonical decimals), got '" + key + "'");
    auto bias = GetFloat(value, field);
    if (auto* e = std::get_if<ApiError>(&bias)) return *e;
    out.emplace_back(static_cast<int32_t>(std::stoll(key)), std::get<float>(bias));
  }
  std::sort(out.begin(), out.end());  // distinct ids: the reader refuses a key twice
  return out;
}

// logprobs: completions' integer in [0, 5]; chat's boolean with
// top_logprobs in [0, 20] (allowed only with logprobs true).
std::optional<ApiError> GetLogprobs(const Fields& f, bool chat, int64_t* top) {
  const Json* v = f.Get("logprobs");
  if (!chat) {
    if (!v) return std::nullopt;
    auto k = GetInt(*v, "logprobs", 0, 5);
    if (auto* e = std::get_if<ApiError>(&k)) return *e;
    *top = std::get<int64_t>(k);
    return std::nullopt;
  }
  if (v && !v->is_boolean()) return InvalidRequest("logprobs", TypeError("logprobs", "a boolean"));
  const bool on = v && v->get<bool>();
  const Json* t = f.Get("top_logprobs");
  if (t && !on && *t != 0) return InvalidRequest("top_logprobs", "'top_logprobs' needs 'logprobs': true");
  if (!on) return std::nullopt;
  *top = 0;
  if (!t) return std::nullopt;
  auto k = GetInt(*t, "top_logprobs", 0, kMaxTopLogprobs);
  if (auto* e = std::get_if<ApiError>(&k)) return *e;
  *top = std::get<int64_t>(k);
  return std::nullopt;
}

// OpenAI fields that would change the output and are not implemented: each
// accepted only at the value that changes nothing (absent and null too).
struct Unimplemented {
  const char* name;
  bool (*no_op)(const Json&);
};
constexpr Unimplemented kUnimplemented[] = {
    {"echo", [](const Json& v) { return v == false; }},
    {"best_of", [](const Json& v) { return v == 1; }},
    {"suffix", [](const Json& v) { return v == ""; }},
    {"response_format", [](const Json& v) { return v == Json{{"type", "text"}}; }},
    {"tools", [](const Json& v) { return v.is_array() && v.empty(); }},
    {"tool_choice", [](const Json& v) { return v == "none"; }},
    {"functions", [](const Json& v) { return v.is_array() && v.empty(); }},
    {"function_call", [](const Json& v) { return v == "none"; }},
    {"prediction", [](const Json&) { return false; }},
    {"reasoning_effort", [](const Json&) { return false; }},
    {"modalities", [](const Json& v) { return v == Json::array({"text"}); }},
    {"audio", [](const Json&) { return false; }},
    {"web_search_options", [](const Json&) { return false; }},
};

// Fields that change nothing about the output: checked for their type, then
// ignored (docs/formats.md, "Inference HTTP API").
std::optional<ApiError> CheckNoOpFields(const Json& obj) {
  for (const char* key : {"store", "parallel_tool_calls"}) {
    auto it = obj.find(key);
    if (it != obj.end() && !it->is_null() && !it->is_boolean())
      return InvalidRequest(key, TypeError(key, "a boolean"));
  }
  if (auto it = obj.find("metadata"); it != obj.end() && !it->is_null()) {
    if (!it->is_object()) return InvalidRequest("metadata", TypeError("metadata", "an object of strings"));
    for (const auto& [key, value] : it->items())
      if (!value.is_string()) return InvalidRequest("metadata." + key, TypeError("metadata." + key, "a string"));
  }
  return std::nullopt;
}

// stream_options.include_usage; the object is refused without streaming.
std::variant<bool, ApiError> GetStreamOptions(const Json& v, bool stream) {
  if (!stream) return InvalidRequest("stream_options", "'stream_options' is only allowed when 'stream' is true");
  if (!v.is_object()) return InvalidRequest("stream_options", TypeError("stream_options", "an object"));
  bool include_usage = false;
  for (const auto& [key, value] : v.items()) {
    const std::string field = "stream_options." + key;
    if (key != "include_usage") return InvalidRequest(field, "unknown or unsupported field '" + field + "'");
    if (value.is_null()) continue;
    if (!value.is_boolean()) return InvalidRequest(field, TypeError(field, "a boolean"));
    include_usage = value.get<bool>();
  }
  return include_usage;
}

// Assigns the parsed value of an optional field to *dst, or returns its error.
template <typename T, typename F>
std::optional<ApiError> Optional(const Fields& f, const std::string& key, T* dst, F parse) {
  const Json* v = f.Get(key);
  if (!v) return std::nullopt;
  auto r = parse(*v);
  if (auto* e = std::get_if<ApiError>(&r)) return *e;
  *dst = std::get<T>(std::move(r));
  return std::nullopt;
}

}  // namespace

ApiError InvalidRequest(std::string param, std::string message) {
  ApiError e;
  e.param = std::move(param);
  e.message = std::move(message);
  return e;
}

std::string ApiError::ToJson() const {
  Json err = {{"message", message}, {"type", type}, {"param", nullptr}, {"code", nullptr}};
  if (!param.empty()) err["param"] = param;
  if (!code.empty()) err["code"] = code;
  return Json{{"error", err}}.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::variant<ApiRequest, ApiError> ParseApiRequest(ApiEndpoint endpoint, std::string_view body,
                                                   int64_t max_tokens_limit, const SamplingParams& defaults) {
  auto parsed = ParseBody(body);
  if (auto* e = std::get_if<ApiError>(&parsed)) return *e;
  const Json& obj = std::get<Json>(parsed);
  if (!obj.is_object()) return InvalidRequest("", "the request body must be a JSON object");
  const bool chat = endpoint == ApiEndpoint::kChatCompletions;
  static const std::set<std::string> kKnown = {"model", "max_tokens", "temperature", "top_p", "top_k",
                                               "seed",  "stop",       "n",           "stream", "user",
                                               "stream_options", "metadata", "store", "parallel_tool_calls",
                                               "presence_penalty", "frequency_penalty", "logit_bias",
                                               "logprobs"};
  for (const auto& [key, value] : obj.items()) {
    if (kKnown.count(key) || key == (chat ? "messages" : "prompt") ||
        (chat && (key == "max_completion_tokens" || key == "top_logprobs")))
      continue;
    auto it = std::find_if(std::begin(kUnimplemented), std::end(kUnimplemented),
                           [&name = key](const Unimplemented& u) { return name == u.name; });
    if (it == std::end(kUnimplemented))
      return InvalidRequest(key, "unknown or unsupported field '" + key + "'");
    if (!value.is_null() && !it->no_op(value))
      return InvalidRequest(key, "'" + key + "' is not supported by this server (only its no-op value is accepted)");
  }
  if (auto e = CheckNoOpFields(obj)) return *e;
  Fields f(obj);
  ApiRequest r;
  r.endpoint = endpoint;
  r.sampling = defaults;
  r.sampling.seed = 0;
  auto str = [](const std::string& key) { return [key](const Json& v) { return GetString(v, key); }; };
  if (!f.Get("model")) return InvalidRequest("model", "'model' is missing");
  if (auto e = Optional(f, "model", &r.model, str("model"))) return *e;
  if (chat) {
    if (!f.Get("messages")) return InvalidRequest("messages", "'messages' is missing");
    if (auto e = Optional(f, "messages", &r.messages, GetMessages)) return *e;
  } else {
    if (!f.Get("prompt")) return InvalidRequest("prompt", "'prompt' is missing");
    if (auto e = Optional(f, "prompt", &r.prompts, GetPrompts)) return *e;
  }
  auto integer = [](const std::string& key, int64_t lo, int64_t hi) {
    return [=](const Json& v) { return GetInt(v, key, lo, hi); };
  };
  auto number = [](const std::string& key) { return [key](const Json& v) { return GetFloat(v, key); }; };
  if (auto e = Optional(f, "max_tokens", &r.max_tokens, integer("max_tokens", 1, max_tokens_limit))) return *e;
  if (chat && f.Get("max_completion_tokens")) {
    // The chat API's current name for max_tokens; both given must agree.
    const int64_t max_tokens = r.max_tokens;
    if (auto e = Optional(f, "max_completion_tokens", &r.max_tokens,
                          integer("max_completion_tokens", 1, max_tokens_limit)))
      return *e;
    if (f.Get("max_tokens") && max_tokens != r.max_tokens)
      return InvalidRequest("max_completion_tokens", "'max_completion_tokens' and 'max_tokens' differ; give one");
  }
  if (auto e = Optional(f, "temperature", &r.sampling.temperature, number("temperature"))) return *e;
  if (auto e = Optional(f, "top_p", &r.sampling.top_p, number("top_p"))) return *e;
  if (auto e = Optional(f, "top_k", &r.sampling.top_k, integer("top_k", 0, INT64_MAX))) return *e;
  if (auto e = Optional(f, "presence_penalty", &r.sampling.presence_penalty, number("presence_penalty"))) return *e;
  if (auto e = Optional(f, "frequency_penalty", &r.sampling.frequency_penalty, number("frequency_penalty"))) return *e;
  if (auto e = Optional(f, "logit_bias", &r.sampling.logit_bias, GetLogitBias)) return *e;
  if (const Json* seed = f.Get("seed")) {
    if (!seed->is_number_integer() || (!seed->is_number_unsigned() && seed->get<int64_t>() < 0))
      return InvalidRequest("seed", "'seed' must be an integer in [0, 2^64)");
    r.sampling.seed = seed->get<uint64_t>();
  }
  if (auto e = Optional(f, "stop", &r.stop, GetStop)) return *e;
  if (auto e = Optional(f, "n", &r.n, integer("n", 1, kMaxChoices))) return *e;
  const int64_t prompts = chat ? 1 : static_cast<int64_t>(r.prompts.size());
  if (prompts * r.n > kMaxChoices)
    return InvalidRequest("n", std::to_string(prompts) + " prompts × n = " + std::to_string(r.n) + " exceeds " +
                                   std::to_string(kMaxChoices) + " choices");
  if (const Json* stream = f.Get("stream")) {
    if (!stream->is_boolean()) return InvalidRequest("stream", TypeError("stream", "a boolean"));
    r.stream = stream->get<bool>();
  }
  if (auto e = Optional(f, "stream_options", &r.include_usage, [&r](const Json& v) { return GetStreamOptions(v, r.stream); }))
    return *e;
  std::string user;
  if (auto e = Optional(f, "user", &user, str("user"))) return *e;
  if (auto e = GetLogprobs(f, chat, &r.logprobs)) return *e;
  if (r.logprobs >= 0 && r.stream)
    return InvalidRequest("logprobs", "'logprobs' is not supported with 'stream' by this server");
  if (Status st = r.sampling.Validate(); !st.ok()) {
    const std::string& m = st.message();
    return InvalidRequest(m.substr(0, m.find(' ')), m);  // SamplingParams::Validate names the field first
  }
  return r;
}

}  // namespace aftune
