#include "protocol/request.h"

#include <bit>
#include <string_view>

#include "base/status.h"

namespace aftune {

namespace {

constexpr std::string_view kRequestTag = "aftune inference request v3\n";
constexpr std::string_view kResponseTag = "aftune inference response v1\n";

void PutU32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void PutU64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void PutStr(std::string* out, std::string_view s) {
  AFTUNE_CHECK(s.size() <= UINT32_MAX);
  PutU32(out, static_cast<uint32_t>(s.size()));
  out->append(s);
}
void PutTokens(std::string* out, const std::vector<int32_t>& ids) {
  AFTUNE_CHECK(ids.size() <= UINT32_MAX);
  PutU32(out, static_cast<uint32_t>(ids.size()));
  for (int32_t id : ids) {
    AFTUNE_CHECK(id >= 0);
    PutU32(out, static_cast<uint32_t>(id));
  }
}

}  // namespace

std::string EncodeRequest(const InferenceRequest& request) {
  const GenerationRequest& g = request.generation;
  AFTUNE_CHECK(g.max_tokens >= 0 && g.sampling.top_k >= 0);
  std::string out(kRequestTag);
  PutStr(&out, request.model);
  PutTokens(&out, g.prompt);
  PutU64(&out, static_cast<uint64_t>(g.max_tokens));
  PutU32(&out, std::bit_cast<uint32_t>(g.sampling.temperature));
  PutU32(&out, std::bit_cast<uint32_t>(g.sampling.top_p));
  PutU64(&out, static_cast<uint64_t>(g.sampling.top_k));
  PutU64(&out, g.sampling.seed);
  AFTUNE_CHECK(g.stop.size() <= UINT32_MAX);
  PutU32(&out, static_cast<uint32_t>(g.stop.size()));
  for (const std::string& s : g.stop) PutStr(&out, s);
  PutU32(&out, std::bit_cast<uint32_t>(g.sampling.presence_penalty));
  PutU32(&out, std::bit_cast<uint32_t>(g.sampling.frequency_penalty));
  AFTUNE_CHECK(g.sampling.logit_bias.size() <= UINT32_MAX);
  PutU32(&out, static_cast<uint32_t>(g.sampling.logit_bias.size()));
  for (const auto& [id, bias] : g.sampling.logit_bias) {
    AFTUNE_CHECK(id >= 0);
    PutU32(&out, static_cast<uint32_t>(id));
    PutU32(&out, std::bit_cast<uint32_t>(bias));
  }
  PutU32(&out, g.sampling.choice);
  AFTUNE_CHECK(request.logprobs >= -1 && request.logprobs <= kMaxTopLogprobs);
  PutU32(&out, static_cast<uint32_t>(request.logprobs + 1));
  return out;
}

Hash RequestDigest(const InferenceRequest& request) { return Sha256Of(EncodeRequest(request)); }

std::string EncodeResponse(const std::vector<int32_t>& tokens, const std::vector<PositionLogprobs>* logprobs) {
  std::string out(kResponseTag);
  PutTokens(&out, tokens);
  if (!logprobs) return out;
  AFTUNE_CHECK(logprobs->size() == tokens.size());
  for (const PositionLogprobs& p : *logprobs) {
    PutU32(&out, std::bit_cast<uint32_t>(p.chosen));
    PutU32(&out, static_cast<uint32_t>(p.top.size()));
    for (const TokenLogprob& t : p.top) {
      AFTUNE_CHECK(t.id >= 0);
      PutU32(&out, static_cast<uint32_t>(t.id));
      PutU32(&out, std::bit_cast<uint32_t>(t.logprob));
    }
  }
  return out;
}

Hash ResponseDigest(const std::vector<int32_t>& tokens, const std::vector<PositionLogprobs>* logprobs) {
  return Sha256Of(EncodeResponse(tokens, logprobs));
}

}  // namespace aftune
