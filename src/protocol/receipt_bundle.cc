#include "protocol/receipt_bundle.h"

#include <algorithm>

#include "commit/checkpoint.h"

namespace aftune {

using Json = nlohmann::json;

Json ReceiptBundleToJson(const ReceiptBundle& b) {
  const GenerationRequest& g = b.request.generation;
  Json request = {{"model", b.request.model},
                  {"prompt_tokens", g.prompt},
                  {"max_tokens", g.max_tokens},
                  {"temperature", static_cast<double>(g.sampling.temperature)},
                  {"top_p", static_cast<double>(g.sampling.top_p)},
                  {"top_k", g.sampling.top_k},
                  {"seed", g.sampling.seed},
                  {"stop", g.stop},
                  {"presence_penalty", static_cast<double>(g.sampling.presence_penalty)},
                  {"frequency_penalty", static_cast<double>(g.sampling.frequency_penalty)},
                  {"logit_bias", Json::array()},
                  {"choice", g.sampling.choice},
                  {"logprobs", b.request.logprobs < 0 ? Json(nullptr) : Json(b.request.logprobs)}};
  for (const auto& [id, bias] : g.sampling.logit_bias)
    request["logit_bias"].push_back(Json::array({id, static_cast<double>(bias)}));
  Json logprobs = nullptr;
  if (b.request.logprobs >= 0) {
    logprobs = Json::array();
    for (const PositionLogprobs& p : b.completion_logprobs) {
      Json top = Json::array();
      for (const TokenLogprob& t : p.top) top.push_back(Json::array({t.id, static_cast<double>(t.logprob)}));
      logprobs.push_back(Json::array({static_cast<double>(p.chosen), top}));
    }
  }
  return Json{{"log_index", b.log_index},
              {"receipt", b.receipt},
              {"checkpoint", b.checkpoint},
              {"request", request},
              {"completion_tokens", b.completion_tokens},
              {"completion_logprobs", logprobs},
              {"salt", HashToHex(b.salt)}};
}

namespace {

Status Wrong(const std::string& field, const std::string& want) {
  return Status::Corruption("receipt bundle: '" + field + "' " + want);
}

Status OnlyKeys(const Json& j, const std::string& where, std::vector<std::string> keys) {
  if (!j.is_object()) return Wrong(where, "must be an object");
  for (const auto& [key, value] : j.items())
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) return Wrong(where + key, "is not a known field");
  for (const std::string& key : keys)
    if (!j.contains(key)) return Wrong(where + key, "is missing");
  return Status::Ok();
}

// A JSON integer >= 0 (parsed text gives "unsigned"; a Json built in memory
// from a signed C++ integer gives "integer").
bool IsNonNegativeInteger(const Json& j) {
  return j.is_number_unsigned() || (j.is_number_integer() && j.get<int64_t>() >= 0);
}

Result<uint64_t> U64(const Json& j, const std::string& field) {
  if (!IsNonNegativeInteger(j)) return Wrong(field, "must be a non-negative integer");
  return j.get<uint64_t>();
}

Result<std::string> Str(const Json& j, const std::string& field) {
  if (!j.is_string()) return Wrong(field, "must be a string");
  return j.get<std::string>();
}

Result<float> F32(const Json& j, const std::string& field) {
  if (!j.is_number()) return Wrong(field, "must be a number");
  const double d = j.get<double>();
  const float f = static_cast<float>(d);
  if (static_cast<double>(f) != d) return Wrong(field, "is not a binary32 value");
  return f;
}

Result<int32_t> TokenId(const Json& t, const std::string& field) {
  if (!IsNonNegativeInteger(t) || t.get<uint64_t>() > INT32_MAX) return Wrong(field, "holds a bad token id");
  return static_cast<int32_t>(t.get<uint64_t>());
}

Result<std::vector<int32_t>> Tokens(const Json& j, const std::string& field) {
  if (!j.is_array()) return Wrong(field, "must be an array of token ids");
  std::vector<int32_t> out;
  for (const Json& t : j) {
    AFTUNE_ASSIGN_OR_RETURN(int32_t id, TokenId(t, field));
    out.push_back(id);
  }
  return out;
}

// [[id, bias], ...], ids ascending and distinct (the canonical order the
// request encoding writes).
Result<std::vector<std::pair<int32_t, float>>> LogitBias(const Json& j) {
  const std::string field = "request.logit_bias";
  if (!j.is_array()) return Wrong(field, "must be an array of [token id, bias] pairs");
  std::vector<std::pair<int32_t, float>> out;
  for (const Json& pair : j) {
    if (!pair.is_array() || pair.size() != 2) return Wrong(field, "must be an array of [token id, bias] pairs");
    AFTUNE_ASSIGN_OR_RETURN(int32_t id, TokenId(pair[0], field));
    AFTUNE_ASSIGN_OR_RETURN(float bias, F32(pair[1], field + "[]"));
    if (!out.empty() && id <= out.back().first) return Wrong(field, "must list token ids ascending, each once");
    out.emplace_back(id, bias);
  }
  return out;
}

// completion_logprobs for `tokens` tokens with `top` alternatives each.
Result<std::vector<PositionLogprobs>> Logprobs(const Json& j, size_t tokens, int64_t top) {
  const std::string field = "completion_logprobs";
  if (!j.is_array() || j.size() != tokens) return Wrong(field, "must hold one [logprob, top] pair per token");
  std::vector<PositionLogprobs> out;
  for (const Json& p : j) {
    if (!p.is_array() || p.size() != 2 || !p[1].is_array() || p[1].size() != static_cast<size_t>(top))
      return Wrong(field, "must hold [logprob, [[id, logprob] x " + std::to_string(top) + "]] per token");
    PositionLogprobs pos;
    AFTUNE_ASSIGN_OR_RETURN(pos.chosen, F32(p[0], field + "[]"));
    for (const Json& t : p[1]) {
      if (!t.is_array() || t.size() != 2) return Wrong(field, "holds a bad [id, logprob] pair");
      TokenLogprob tl;
      AFTUNE_ASSIGN_OR_RETURN(tl.id, TokenId(t[0], field + "[]"));
      AFTUNE_ASSIGN_OR_RETURN(tl.logprob, F32(t[1], field + "[]"));
      pos.top.push_back(tl);
    }
    out.push_back(std::move(pos));
  }
  return out;
}

}  // namespace

Result<ReceiptBundle> ReceiptBundleFromJson(const Json& j, const std::vector<std::string>& extra_keys) {
  std::vector<std::string> keys = {"log_index", "receipt", "checkpoint", "request", "completion_tokens",
                                   "completion_logprobs", "salt"};
  keys.insert(keys.end(), extra_keys.begin(), extra_keys.end());
  AFTUNE_RETURN_IF_ERROR(OnlyKeys(j, "", keys));
  ReceiptBundle b;
  AFTUNE_ASSIGN_OR_RETURN(b.log_index, U64(j["log_index"], "log_index"));
  AFTUNE_ASSIGN_OR_RETURN(b.receipt, Str(j["receipt"], "receipt"));
  AFTUNE_ASSIGN_OR_RETURN(b.checkpoint, Str(j["checkpoint"], "checkpoint"));
  AFTUNE_ASSIGN_OR_RETURN(b.completion_tokens, Tokens(j["completion_tokens"], "completion_tokens"));
  AFTUNE_ASSIGN_OR_RETURN(std::string salt, Str(j["salt"], "salt"));
  Result<Hash> salt_bytes = HashFromHex(salt);
  if (!salt_bytes.ok()) return Wrong("salt", "must be 64 lowercase hex digits");
  b.salt = *salt_bytes;
  const Json& r = j["request"];
  AFTUNE_RETURN_IF_ERROR(OnlyKeys(
      r, "request.", {"model", "prompt_tokens", "max_tokens", "temperature", "top_p", "top_k", "seed", "stop",
                      "presence_penalty", "frequency_penalty", "logit_bias", "choice", "logprobs"}));
  GenerationRequest& g = b.request.generation;
  AFTUNE_ASSIGN_OR_RETURN(b.request.model, Str(r["model"], "request.model"));
  AFTUNE_ASSIGN_OR_RETURN(g.prompt, Tokens(r["prompt_tokens"], "request.prompt_tokens"));
  AFTUNE_ASSIGN_OR_RETURN(uint64_t max_tokens, U64(r["max_tokens"], "request.max_tokens"));
  AFTUNE_ASSIGN_OR_RETURN(uint64_t top_k, U64(r["top_k"], "request.top_k"));
  if (max_tokens > INT64_MAX || top_k > INT64_MAX) return Wrong("request", "has an integer out of range");
  g.max_tokens = static_cast<int64_t>(max_tokens);
  g.sampling.top_k = static_cast<int64_t>(top_k);
  AFTUNE_ASSIGN_OR_RETURN(g.sampling.temperature, F32(r["temperature"], "request.temperature"));
  AFTUNE_ASSIGN_OR_RETURN(g.sampling.top_p, F32(r["top_p"], "request.top_p"));
  AFTUNE_ASSIGN_OR_RETURN(g.sampling.seed, U64(r["seed"], "request.seed"));
  if (!r["stop"].is_array()) return Wrong("request.stop", "must be an array of strings");
  for (const Json& s : r["stop"]) {
    AFTUNE_ASSIGN_OR_RETURN(std::string stop, Str(s, "request.stop[]"));
    g.stop.push_back(std::move(stop));
  }
  AFTUNE_ASSIGN_OR_RETURN(g.sampling.presence_penalty, F32(r["presence_penalty"], "request.presence_penalty"));
  AFTUNE_ASSIGN_OR_RETURN(g.sampling.frequency_penalty, F32(r["frequency_penalty"], "request.frequency_penalty"));
  AFTUNE_ASSIGN_OR_RETURN(g.sampling.logit_bias, LogitBias(r["logit_bias"]));
  AFTUNE_ASSIGN_OR_RETURN(uint64_t choice, U64(r["choice"], "request.choice"));
  if (choice > UINT32_MAX) return Wrong("request.choice", "is out of range");
  g.sampling.choice = static_cast<uint32_t>(choice);
  if (!r["logprobs"].is_null()) {
    AFTUNE_ASSIGN_OR_RETURN(uint64_t top, U64(r["logprobs"], "request.logprobs"));
    if (top > static_cast<uint64_t>(kMaxTopLogprobs)) return Wrong("request.logprobs", "is out of range");
    b.request.logprobs = static_cast<int64_t>(top);
    AFTUNE_ASSIGN_OR_RETURN(b.completion_logprobs,
                            Logprobs(j["completion_logprobs"], b.completion_tokens.size(), b.request.logprobs));
  } else if (!j["completion_logprobs"].is_null()) {
    return Wrong("completion_logprobs", "must be null when the request asked for none");
  }
  return b;
}

Result<std::string> UnverifiedNoteText(const std::string& note) {
  size_t blank = note.rfind("\n\n");
  if (blank == std::string::npos) return Status::Corruption("not a signed note: no blank line");
  return note.substr(0, blank + 1);
}

Result<Receipt> CheckReceiptBundle(const ReceiptBundle& b) {
  AFTUNE_ASSIGN_OR_RETURN(std::string text, UnverifiedNoteText(b.receipt));
  AFTUNE_ASSIGN_OR_RETURN(Receipt r, ParseReceiptText(text));
  if (r.index != b.log_index)
    return Status::Mismatch("the receipt's index " + std::to_string(r.index) + " is not log_index " +
                            std::to_string(b.log_index));
  if (r.request != BlindDigest(b.salt, RequestDigest(b.request)))
    return Status::Mismatch("the receipt's request digest is not the digest of the request under the salt");
  const Hash response =
      ResponseDigest(b.completion_tokens, b.request.logprobs >= 0 ? &b.completion_logprobs : nullptr);
  if (r.response != BlindDigest(b.salt, response))
    return Status::Mismatch(
        "the receipt's response digest is not the digest of completion_tokens (and logprobs) under the salt");
  AFTUNE_ASSIGN_OR_RETURN(std::string cp_text, UnverifiedNoteText(b.checkpoint));
  AFTUNE_ASSIGN_OR_RETURN(Checkpoint cp, ParseCheckpoint(cp_text));
  if (cp.origin != r.log)
    return Status::Mismatch("the checkpoint's origin '" + cp.origin + "' is not the receipt's log '" + r.log + "'");
  if (cp.size <= r.index)
    return Status::Mismatch("the checkpoint (size " + std::to_string(cp.size) + ") does not cover index " +
                            std::to_string(r.index));
  return r;
}

}  // namespace aftune
