// Log-probabilities of generated tokens, as the OpenAI API reports them
// (docs/formats.md, "Inference HTTP API", logprobs), computed from the same
// logits the sampler chose from: a pure function of the logits row, the
// sampling parameters and the tokens generated before, so the inference
// audit recomputes them bit for bit.
//
// The distribution reported is log-softmax over the penalised logits l of
// infer/sampler.h step 0 (penalties and logit_bias applied; no temperature,
// top-k or top-p), in binary32, each operation rounded, in this order:
//   m = max_v l_v;  s = sum over v = 0 .. V-1 ascending of ExpF(l_v - m);
//   logprob_v = (l_v - m) - LogF(s).
// The top alternatives are the `top` tokens of largest l_v (so of largest
// logprob_v), ties to the lower id. The chosen token's logprob is reported
// whether or not it is among them (it is sampled with temperature, top-k
// and top-p, which this distribution leaves out, as OpenAI's does).
#pragma once

#include <bit>
#include <cstdint>
#include <span>
#include <vector>

#include "infer/sampler.h"

namespace aftune {

inline constexpr int64_t kMaxTopLogprobs = 20;

// Equality is of the binary32 bit patterns, as the response digest binds
// them (so -0 differs from +0).
struct TokenLogprob {
  int32_t id = 0;
  float logprob = 0.0f;
  bool operator==(const TokenLogprob& o) const {
    return id == o.id && std::bit_cast<uint32_t>(logprob) == std::bit_cast<uint32_t>(o.logprob);
  }
};

// One generated position: the chosen token's logprob and the top ones.
struct PositionLogprobs {
  float chosen = 0.0f;
  std::vector<TokenLogprob> top;
  bool operator==(const PositionLogprobs& o) const {
    return std::bit_cast<uint32_t>(chosen) == std::bit_cast<uint32_t>(o.chosen) && top == o.top;
  }
};

// REQUIRES: as PenalizedLogits; chosen in [0, V); 0 <= top <= kMaxTopLogprobs.
PositionLogprobs ComputeLogprobs(const float* logits, int64_t V, const SamplingParams& params,
                                 std::span<const int32_t> generated, int32_t chosen, int64_t top);

// The logprobs of a whole answer: `rows` holds tokens.size() rows of V
// logits, row t the one token t was sampled from (after tokens[0, t)).
std::vector<PositionLogprobs> AnswerLogprobs(const float* rows, int64_t V, const SamplingParams& params,
                                             std::span<const int32_t> tokens, int64_t top);

}  // namespace aftune
