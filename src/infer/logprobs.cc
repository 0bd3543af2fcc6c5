#include "infer/logprobs.h"

#include <algorithm>
#include <numeric>

#include "tensor/mathfn.h"

namespace aftune {

PositionLogprobs ComputeLogprobs(const float* logits, int64_t V, const SamplingParams& params,
                                 std::span<const int32_t> generated, int32_t chosen, int64_t top) {
  AFTUNE_CHECK(V >= 1 && chosen >= 0 && chosen < V && top >= 0 && top <= kMaxTopLogprobs);
  const std::vector<float> l = PenalizedLogits(logits, V, params, generated);
  const float m = *std::max_element(l.begin(), l.end());
  float s = 0.0f;
  for (int64_t v = 0; v < V; ++v) s += ExpF(l[v] - m);
  const float log_s = LogF(s);
  auto logprob = [&](int64_t v) { return (l[v] - m) - log_s; };
  PositionLogprobs out;
  out.chosen = logprob(chosen);
  std::vector<int32_t> order(static_cast<size_t>(V));
  std::iota(order.begin(), order.end(), 0);
  const int64_t k = std::min(top, V);
  std::partial_sort(order.begin(), order.begin() + k, order.end(),
                    [&](int32_t a, int32_t b) { return l[a] > l[b] || (l[a] == l[b] && a < b); });
  for (int64_t i = 0; i < k; ++i) out.top.push_back({order[i], logprob(order[i])});
  return out;
}

std::vector<PositionLogprobs> AnswerLogprobs(const float* rows, int64_t V, const SamplingParams& params,
                                             std::span<const int32_t> tokens, int64_t top) {
  std::vector<PositionLogprobs> out;
  for (size_t t = 0; t < tokens.size(); ++t)
    out.push_back(ComputeLogprobs(rows + static_cast<int64_t>(t) * V, V, params, tokens.first(t), tokens[t], top));
  return out;
}

}  // namespace aftune
