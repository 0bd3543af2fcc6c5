// Batched text generation with a KV cache, and its teacher-forced replay.
//
// All requests of a Generate call are prefilled in one packed batch, then
// decoded together one token per sequence per step. Because the decoder is
// batch-invariant and the sampler a pure function of (logits, parameters,
// position), every request gets exactly the tokens it would get alone, and
// ReplayChoices recomputes them from a single forward pass.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "infer/logprobs.h"
#include "infer/sampler.h"
#include "model/decoder.h"

namespace aftune {

struct GenerationRequest {
  std::vector<int32_t> prompt;  // token ids, BOS included if wanted
  SamplingParams sampling;
  int64_t max_tokens = 16;
  std::vector<std::string> stop;  // stop strings, matched on the decoded text
};

// kCancelled: the caller stopped it (TokenCallback returned false); such a
// result is never delivered as an answer.
enum class FinishReason { kLength, kEos, kStop, kCancelled };
const char* FinishReasonName(FinishReason r);  // "length", "stop" (EOS and stop strings), "cancelled"

struct GenerationResult {
  // Every sampled token, including a final EOS or the token that completed a
  // stop string: the audit checks each of them.
  std::vector<int32_t> tokens;
  FinishReason finish = FinishReason::kLength;
  // The decoded output: up to (excluding) the stop string, without EOS.
  std::string text;
  Tensor logits;  // [tokens, V] the logits each token was sampled from (when kept)
};

class Generator {
 public:
  // decoder: a whole-model Decoder that outlives the Generator. Generation
  // ends after any of eos_ids (ServedModel::eos_ids). decode turns token ids
  // into text (for stop strings and GenerationResult::text).
  Generator(const Decoder& decoder, std::vector<int32_t> eos_ids,
            std::function<std::string(const std::vector<int32_t>&)> decode);

  // InvalidArgument naming the request and the problem (empty prompt, bad
  // sampling parameters, max_tokens < 1, prompt + max_tokens beyond the
  // model's positions, token ids out of range).
  Status Validate(const GenerationRequest& request) const;

  // Called after each sampled token with the request's index and the token
  // (streaming); on the calling thread, in sampling order. false: stop that
  // request now (FinishReason::kCancelled); the others go on unchanged.
  using TokenCallback = std::function<bool(size_t request, int32_t token)>;

  // REQUIRES: every request Validate()s ok.
  std::vector<GenerationResult> Generate(const std::vector<GenerationRequest>& requests,
                                         bool keep_logits = false, const TokenCallback& on_token = {}) const;

 private:
  const Decoder& decoder_;
  std::vector<int32_t> eos_ids_;
  std::function<std::string(const std::vector<int32_t>&)> decode_;
};

// The earliest occurrence of any non-empty stop string in `text`, or npos
// (how Generate matches stop strings on the decoded output).
size_t FindStop(const std::string& text, const std::vector<std::string>& stops);

// Teacher-forced replay: one forward pass over prompt + tokens recomputes the
// logits each generated token was sampled from, and the sampler's choice from
// them. Returns the choices (same length as tokens); an honest generation has
// choices == tokens. `logits` (nullable) receives the [tokens, V] rows.
std::vector<int32_t> ReplayChoices(const Decoder& decoder, const GenerationRequest& request,
                                   const std::vector<int32_t>& tokens, Tensor* logits);

// The logprobs of `tokens` (infer/logprobs.h) with `top` alternatives each,
// from the teacher-forced pass's logits: by batch invariance bit for bit the
// logits each token was sampled from.
std::vector<PositionLogprobs> ReplayLogprobs(const Decoder& decoder, const GenerationRequest& request,
                                             const std::vector<int32_t>& tokens, int64_t top);

}  // namespace aftune
