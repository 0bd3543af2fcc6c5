// Choosing the next token from a row of logits: greedy, temperature, top-k
// and top-p, driven by a Philox stream keyed by (seed, position), so the
// choice is a pure function of the logits, the parameters and the position.
// The inference audit re-runs exactly this function on logits recomputed by
// one teacher-forced pass and requires the same token at every position.
//
// Canonical procedure (temperature > 0):
//   1. z_v = logits_v / temperature.
//   2. Order candidates by z descending, ties by id ascending.
//   3. top_k > 0: keep the first top_k.
//   4. e_i = ExpF(z_i - z_0) over the kept candidates in order; their running
//      sums c_i = e_0 + ... + e_i are accumulated left to right.
//   5. top_p < 1: keep the shortest prefix with c_i >= top_p * c_last.
//   6. u = Philox(seed, kSampling, stream 0).Uniform(position); pick the first
//      kept candidate with c_i > u * c_kept (the last one if rounding leaves
//      none).
// Greedy (the largest logit, ties to the lowest id) when temperature == 0,
// when temperature < kGreedyBelowTemperature (subnormal: the limit T → 0),
// and when z_0 = max logit / temperature is not finite (it overflowed, as
// 10 / 1e-38 does): steps 4-6 would compute inf - inf = NaN, and greedy is
// the limit of the distribution as the temperature falls. Every other case
// is the procedure above, bit for bit as before this rule was written.
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"
#include "model/generation_config.h"

namespace aftune {

// The smallest normal binary32 (FLT_MIN).
inline constexpr float kGreedyBelowTemperature = 1.17549435e-38f;

struct SamplingParams {
  float temperature = 1.0f;  // 0: greedy
  float top_p = 1.0f;        // (0, 1]
  int64_t top_k = 0;         // 0: no limit
  uint64_t seed = 0;

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

// REQUIRES: V >= 1, params valid, no NaN in logits. `position` is the
// position in the sequence of the token being chosen.
int32_t SampleToken(const float* logits, int64_t V, const SamplingParams& params, int64_t position);

}  // namespace aftune
