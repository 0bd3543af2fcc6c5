#include "infer/generator.h"

#include <algorithm>
#include <cstring>
#include <memory>

namespace aftune {

const char* FinishReasonName(FinishReason r) {
  return r == FinishReason::kLength ? "length" : r == FinishReason::kCancelled ? "cancelled" : "stop";
}

Generator::Generator(const Decoder& decoder, std::vector<int32_t> eos_ids,
                     std::function<std::string(const std::vector<int32_t>&)> decode)
    : decoder_(decoder), eos_ids_(std::move(eos_ids)), decode_(std::move(decode)) {}

Status Generator::Validate(const GenerationRequest& r) const {
  const ModelConfig& cfg = decoder_.config();
  if (r.prompt.empty()) return Status::InvalidArgument("the prompt is empty");
  for (int32_t id : r.prompt)
    if (id < 0 || id >= cfg.vocab_size)
      return Status::InvalidArgument("prompt token id " + std::to_string(id) + " is outside the vocabulary");
  if (r.max_tokens < 1) return Status::InvalidArgument("max_tokens must be >= 1, got " + std::to_string(r.max_tokens));
  const int64_t need = static_cast<int64_t>(r.prompt.size()) + r.max_tokens;
  if (need > cfg.max_position_embeddings)
    return Status::InvalidArgument("prompt (" + std::to_string(r.prompt.size()) + " tokens) + max_tokens (" +
                                   std::to_string(r.max_tokens) + ") exceeds the context of " +
                                   std::to_string(cfg.max_position_embeddings) + " tokens");
  for (const auto& [id, bias] : r.sampling.logit_bias)
    if (id >= cfg.vocab_size)
      return Status::InvalidArgument("logit_bias token id " + std::to_string(id) + " is outside the vocabulary");
  return r.sampling.Validate();
}

namespace {

// Per request decoding state.
struct Active {
  size_t request;
  std::unique_ptr<KvCache> cache;
  int32_t next_input = 0;  // the token to feed at the next step
};

}  // namespace

size_t FindStop(const std::string& text, const std::vector<std::string>& stops) {
  size_t at = std::string::npos;
  for (const auto& s : stops) {
    if (s.empty()) continue;
    at = std::min(at, text.find(s));
  }
  return at;
}

std::vector<GenerationResult> Generator::Generate(const std::vector<GenerationRequest>& requests,
                                                  bool keep_logits, const TokenCallback& on_token) const {
  const ModelConfig& cfg = decoder_.config();
  const int64_t V = cfg.vocab_size;
  std::vector<GenerationResult> results(requests.size());
  std::vector<std::vector<float>> logit_rows(requests.size());
  std::vector<Active> active;
  PackedBatch batch;
  for (size_t i = 0; i < requests.size(); ++i) {
    const auto& r = requests[i];
    AFTUNE_CHECK(Validate(r).ok());
    active.push_back({i, std::make_unique<KvCache>(cfg, WholeModel(cfg),
                                                   static_cast<int64_t>(r.prompt.size()) + r.max_tokens)});
    batch.Add(r.prompt, {});
  }
  Activations acts;
  while (!active.empty()) {
    std::vector<KvCache*> caches;
    for (auto& a : active) caches.push_back(a.cache.get());
    decoder_.ForwardCached(batch, caches, &acts, /*last_rows_only=*/true);  // the head for sampled rows only
    // Sample from each sequence's last row; keep the unfinished ones.
    std::vector<Active> still;
    PackedBatch next;
    for (size_t s = 0; s < active.size(); ++s) {
      Active& a = active[s];
      const GenerationRequest& r = requests[a.request];
      GenerationResult& out = results[a.request];
      const float* row = acts.logits.data() + static_cast<int64_t>(s) * V;
      const int64_t position = a.cache->length();
      int32_t token = SampleToken(row, V, r.sampling, position, out.tokens);
      out.tokens.push_back(token);
      const bool go_on = !on_token || on_token(a.request, token);
      if (keep_logits) logit_rows[a.request].insert(logit_rows[a.request].end(), row, row + V);
      bool done = false;
      if (!go_on) {
        out.finish = FinishReason::kCancelled;
        done = true;
      } else if (std::find(eos_ids_.begin(), eos_ids_.end(), token) != eos_ids_.end()) {
        out.finish = FinishReason::kEos;
        done = true;
      } else if (!r.stop.empty() && FindStop(decode_(out.tokens), r.stop) != std::string::npos) {
        out.finish = FinishReason::kStop;
        done = true;
      } else if (static_cast<int64_t>(out.tokens.size()) == r.max_tokens) {
        out.finish = FinishReason::kLength;
        done = true;
      }
      if (done) continue;
      next.tokens.push_back(token);
      next.positions.push_back(static_cast<int32_t>(position));
      if (next.starts.empty()) next.starts.push_back(0);
      next.starts.push_back(next.num_tokens());
      still.push_back(std::move(a));
    }
    active = std::move(still);
    batch = std::move(next);
  }
  for (size_t i = 0; i < results.size(); ++i) {
    GenerationResult& out = results[i];
    out.text = decode_(out.tokens);
    size_t at = FindStop(out.text, requests[i].stop);
    if (at != std::string::npos) out.text.resize(at);
    if (keep_logits) {
      out.logits = Tensor({static_cast<int64_t>(out.tokens.size()), V});
      std::memcpy(out.logits.data(), logit_rows[i].data(), logit_rows[i].size() * sizeof(float));
    }
  }
  return results;
}

std::vector<int32_t> ReplayChoices(const Decoder& decoder, const GenerationRequest& request,
                                   const std::vector<int32_t>& tokens, Tensor* logits) {
  const int64_t V = decoder.config().vocab_size;
  const int64_t P = static_cast<int64_t>(request.prompt.size()), T = static_cast<int64_t>(tokens.size());
  std::vector<int32_t> seq = request.prompt;
  seq.insert(seq.end(), tokens.begin(), tokens.end());
  if (T > 0) seq.pop_back();  // the last token's own logits are not needed
  PackedBatch batch;
  batch.Add(seq, {});
  Activations acts;
  decoder.Forward(batch, nullptr, false, &acts);
  std::vector<int32_t> choices;
  if (logits) *logits = Tensor({T, V});
  for (int64_t t = 0; t < T; ++t) {
    const float* row = acts.logits.data() + (P - 1 + t) * V;
    choices.push_back(SampleToken(row, V, request.sampling, P + t, std::span(tokens).first(static_cast<size_t>(t))));
    if (logits) std::memcpy(logits->data() + t * V, row, static_cast<size_t>(V) * sizeof(float));
  }
  return choices;
}

std::vector<PositionLogprobs> ReplayLogprobs(const Decoder& decoder, const GenerationRequest& request,
                                             const std::vector<int32_t>& tokens, int64_t top) {
  Tensor logits;
  ReplayChoices(decoder, request, tokens, &logits);
  return AnswerLogprobs(logits.data(), decoder.config().vocab_size, request.sampling, tokens, top);
}

}  // namespace aftune
