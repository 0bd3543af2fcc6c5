// Choosing the next token from a row of logits: greedy, temperature, top-k
// and top-p, driven by a Philox stream keyed by (seed, position), so the
// choice is a pure function of the logits, the parameters and the position.
// The inference audit re-runs exactly this function on logits recomputed by
// one teacher-forced pass and requires the same token at every position.
//
// Canonical procedure. First the penalised logits l (PenalizedLogits),
// OpenAI's definitions over the tokens this generation has sampled so far
// (`generated`; the prompt does not count), each operation one binary32
// rounding, in this order:
//   0. c_v = how often v occurs in `generated`;
//      l_v = logits_v, and where c_v > 0:
//        l_v = (l_v - frequency_penalty * c_v) - presence_penalty;
//      then for each (id, bias) of logit_bias: l_id = l_id + bias.
//   With no penalty and no bias, l = logits and step 0 is skipped.
// Then, greedy or (temperature > 0):
//   1. z_v = l_v / temperature.
//   2. Order candidates by z descending, ties by id ascending.
//   3. top_k > 0: keep the first top_k.
//   4. e_i = ExpF(z_i - z_0) over the kept candidates in order; their running
//      sums c_i = e_0 + ... + e_i are accumulated left to right.
//   5. top_p < 1: keep the shortest prefix with c_i >= top_p * c_last.
//   6. u = Philox(seed, kSampling, stream choice).Uniform(position); pick the first
//      kept candidate with c_i > u * c_kept (the last one if rounding leaves
//      none).
// Greedy (the largest penalised logit l, ties to the lowest id) when temperature == 0,
// when temperature < kGreedyBelowTemperature (subnormal: the limit T → 0),
// and when z_0 = max logit / temperature is not finite (it overflowed, as
// 10 / 1e-38 does): steps 4-6 would compute inf - inf = NaN, and greedy is
// the limit of the distribution as the temperature falls. Every other case
// is the procedure above, bit for bit as before this rule was written.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "model/generation_config.h"

namespace aftune {

// The smallest normal binary32 (FLT_MIN).
inline constexpr float kGreedyBelowTemperature = 1.17549435e-38f;
// OpenAI's ranges: penalties in [-2, 2], a logit bias in [-100, 100].
inline constexpr float kMaxPenalty = 2.0f;
inline constexpr float kMaxLogitBias = 100.0f;

struct SamplingParams {
  float temperature = 1.0f;  // 0: greedy
  float top_p = 1.0f;        // (0, 1]
  int64_t top_k = 0;         // 0: no limit
  uint64_t seed = 0;
  float presence_penalty = 0.0f;   // [-kMaxPenalty, kMaxPenalty]
  float frequency_penalty = 0.0f;  // [-kMaxPenalty, kMaxPenalty]
  // (token id, bias): ids ascending, each once, bias in
  // [-kMaxLogitBias, kMaxLogitBias]; ids below the vocabulary size is the
  // generator's check (it knows the vocabulary).
  std::vector<std::pair<int32_t, float>> logit_bias = {};
  // The Philox stream of the uniforms: choice j of a request with n
  // choices draws from stream j (choice 0 is the n = 1 answer).
  uint32_t choice = 0;

  // InvalidArgument naming the parameter when out of range.
  Status Validate() const;
};

// A model's default sampling (what a request or the command line leaves
// unset): generation_config.json's temperature, top_p and top_k where it
// gives them, converted to binary32 as a request's are; do_sample false
// makes the default greedy (temperature 0) and the file's other sampling
// fields void, as transformers generates; the rest SamplingParams' own. As vLLM's OpenAI server, the file's values are
// defaults only: a request's own values win.
SamplingParams DefaultSampling(const GenerationConfig& g);

// Step 0 above: the [V] logits the choice is made from. REQUIRES: V >= 1,
// params valid, logit_bias ids and `generated` in [0, V).
std::vector<float> PenalizedLogits(const float* logits, int64_t V, const SamplingParams& params,
                                   std::span<const int32_t> generated);

// REQUIRES: as PenalizedLogits, no NaN in logits. `position` is the
// position in the sequence of the token being chosen; `generated` the
// tokens this generation sampled before it.
int32_t SampleToken(const float* logits, int64_t V, const SamplingParams& params, int64_t position,
                    std::span<const int32_t> generated = {});

}  // namespace aftune
