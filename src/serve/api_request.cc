#include "serve/api_request.h"

#include <cmath>
#include <limits>
#include <set>

#include <nlohmann/json.hpp>

#include "base/strict_json.h"
#include "commit/encoding.h"

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
    for (auto [key, dst] : {std::pair{"role", &m.role}, std::pair{"content", &m.content}}) {
      const std::string field = at + "." + key;
      if (!v[i].contains(key)) return InvalidRequest(field, "'" + field + "' is missing");
      auto s = GetString(v[i][key], field);
      if (auto* e = std::get_if<ApiError>(&s)) return *e;
      *dst = std::get<std::string>(s);
    }
    out.push_back(std::move(m));
  }
  return out;
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
                                                   int64_t max_tokens_limit) {
  auto parsed = ParseBody(body);
  if (auto* e = std::get_if<ApiError>(&parsed)) return *e;
  const Json& obj = std::get<Json>(parsed);
  if (!obj.is_object()) return InvalidRequest("", "the request body must be a JSON object");
  const bool chat = endpoint == ApiEndpoint::kChatCompletions;
  static const std::set<std::string> kKnown = {"model", "max_tokens", "temperature", "top_p", "top_k",
                                               "seed",  "stop",       "n",           "stream", "user"};
  for (const auto& [key, value] : obj.items()) {
    if (!kKnown.count(key) && key != (chat ? "messages" : "prompt"))
      return InvalidRequest(key, "unknown or unsupported field '" + key + "'");
  }
  Fields f(obj);
  ApiRequest r;
  r.endpoint = endpoint;
  auto str = [](const std::string& key) { return [key](const Json& v) { return GetString(v, key); }; };
  if (!f.Get("model")) return InvalidRequest("model", "'model' is missing");
  if (auto e = Optional(f, "model", &r.model, str("model"))) return *e;
  if (chat) {
    if (!f.Get("messages")) return InvalidRequest("messages", "'messages' is missing");
    if (auto e = Optional(f, "messages", &r.messages, GetMessages)) return *e;
  } else {
    if (!f.Get("prompt")) return InvalidRequest("prompt", "'prompt' is missing");
    if (auto e = Optional(f, "prompt", &r.prompt, str("prompt"))) return *e;
  }
  auto integer = [](const std::string& key, int64_t lo, int64_t hi) {
    return [=](const Json& v) { return GetInt(v, key, lo, hi); };
  };
  auto number = [](const std::string& key) { return [key](const Json& v) { return GetFloat(v, key); }; };
  if (auto e = Optional(f, "max_tokens", &r.max_tokens, integer("max_tokens", 1, max_tokens_limit))) return *e;
  if (auto e = Optional(f, "temperature", &r.sampling.temperature, number("temperature"))) return *e;
  if (auto e = Optional(f, "top_p", &r.sampling.top_p, number("top_p"))) return *e;
  if (auto e = Optional(f, "top_k", &r.sampling.top_k, integer("top_k", 0, INT64_MAX))) return *e;
  if (const Json* seed = f.Get("seed")) {
    if (!seed->is_number_integer() || (!seed->is_number_unsigned() && seed->get<int64_t>() < 0))
      return InvalidRequest("seed", "'seed' must be an integer in [0, 2^64)");
    r.sampling.seed = seed->get<uint64_t>();
  }
  if (auto e = Optional(f, "stop", &r.stop, GetStop)) return *e;
  int64_t n = 1;
  if (auto e = Optional(f, "n", &n, integer("n", 1, 1))) return *e;
  if (const Json* stream = f.Get("stream")) {
    if (!stream->is_boolean()) return InvalidRequest("stream", TypeError("stream", "a boolean"));
    if (stream->get<bool>()) return InvalidRequest("stream", "streaming is not supported: 'stream' must be false");
  }
  std::string user;
  if (auto e = Optional(f, "user", &user, str("user"))) return *e;
  if (Status st = r.sampling.Validate(); !st.ok()) {
    const std::string& m = st.message();
    std::string param = m.rfind("temperature", 0) == 0 ? "temperature" : m.rfind("top_p", 0) == 0 ? "top_p" : "top_k";
    return InvalidRequest(param, m);
  }
  return r;
}

}  // namespace aftune
