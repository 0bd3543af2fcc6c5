#include "infer/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "tensor/mathfn.h"
#include "tensor/philox.h"

namespace aftune {

Status SamplingParams::Validate() const {
  if (!(temperature >= 0.0f) || !std::isfinite(temperature))
    return Status::InvalidArgument("temperature must be a finite number >= 0, got " + std::to_string(temperature));
  if (!(top_p > 0.0f && top_p <= 1.0f))
    return Status::InvalidArgument("top_p must be in (0, 1], got " + std::to_string(top_p));
  if (top_k < 0) return Status::InvalidArgument("top_k must be >= 0, got " + std::to_string(top_k));
  for (auto [name, value] : {std::pair{"presence_penalty", presence_penalty}, {"frequency_penalty", frequency_penalty}})
    if (!(value >= -kMaxPenalty && value <= kMaxPenalty))
      return Status::InvalidArgument(std::string(name) + " must be in [-2, 2], got " + std::to_string(value));
  for (size_t i = 0; i < logit_bias.size(); ++i) {
    const auto [id, bias] = logit_bias[i];
    if (id < 0 || (i > 0 && id <= logit_bias[i - 1].first))
      return Status::InvalidArgument("logit_bias token ids must be >= 0, ascending and distinct, got " +
                                     std::to_string(id));
    if (!(bias >= -kMaxLogitBias && bias <= kMaxLogitBias))
      return Status::InvalidArgument("logit_bias values must be in [-100, 100], got " + std::to_string(bias) +
                                     " for token " + std::to_string(id));
  }
  return Status::Ok();
}

SamplingParams DefaultSampling(const GenerationConfig& g) {
  SamplingParams s;
  if (g.do_sample == false) {  // greedy: transformers then ignores the sampling fields
    s.temperature = 0.0f;
    return s;
  }
  if (g.temperature) s.temperature = static_cast<float>(*g.temperature);
  if (g.top_p) s.top_p = static_cast<float>(*g.top_p);
  if (g.top_k) s.top_k = *g.top_k;
  return s;
}

namespace {
int32_t Greedy(const float* logits, int64_t V) {
  int64_t best = 0;
  for (int64_t v = 1; v < V; ++v)
    if (logits[v] > logits[best]) best = v;
  return static_cast<int32_t>(best);
}
}  // namespace

std::vector<float> PenalizedLogits(const float* logits, int64_t V, const SamplingParams& params,
                                   std::span<const int32_t> generated) {
  std::vector<float> l(logits, logits + V);
  if (params.presence_penalty != 0.0f || params.frequency_penalty != 0.0f) {
    std::vector<int32_t> sorted(generated.begin(), generated.end());
    std::sort(sorted.begin(), sorted.end());
    for (size_t i = 0; i < sorted.size();) {
      const int32_t v = sorted[i];
      AFTUNE_CHECK(v >= 0 && v < V);
      size_t end = i;
      while (end < sorted.size() && sorted[end] == v) ++end;
      const float count = static_cast<float>(end - i);  // exact: a count is far below 2^24
      l[v] = (l[v] - params.frequency_penalty * count) - params.presence_penalty;
      i = end;
    }
  }
  for (const auto& [id, bias] : params.logit_bias) {
    AFTUNE_CHECK(id >= 0 && id < V);
    l[id] = l[id] + bias;
  }
  return l;
}

namespace {
bool Penalized(const SamplingParams& p) {
  return p.presence_penalty != 0.0f || p.frequency_penalty != 0.0f || !p.logit_bias.empty();
}
}  // namespace

int32_t SampleToken(const float* raw_logits, int64_t V, const SamplingParams& params, int64_t position,
                    std::span<const int32_t> generated) {
  std::vector<float> penalized;
  if (Penalized(params)) penalized = PenalizedLogits(raw_logits, V, params, generated);
  const float* logits = penalized.empty() ? raw_logits : penalized.data();
  if (params.temperature < kGreedyBelowTemperature) return Greedy(logits, V);
  std::vector<float> z(static_cast<size_t>(V));
  for (int64_t v = 0; v < V; ++v) z[v] = logits[v] / params.temperature;
  if (!std::isfinite(z[Greedy(logits, V)])) return Greedy(logits, V);  // z_0 overflowed
  std::vector<int32_t> order(static_cast<size_t>(V));
  std::iota(order.begin(), order.end(), 0);
  int64_t kept = params.top_k > 0 ? std::min(params.top_k, V) : V;
  auto before = [&](int32_t a, int32_t b) { return z[a] > z[b] || (z[a] == z[b] && a < b); };
  std::partial_sort(order.begin(), order.begin() + kept, order.end(), before);
  std::vector<float> cum(static_cast<size_t>(kept));
  float sum = 0.0f;
  for (int64_t i = 0; i < kept; ++i) {
    sum += ExpF(z[order[i]] - z[order[0]]);
    cum[i] = sum;
  }
  if (params.top_p < 1.0f) {
    const float threshold = params.top_p * cum[kept - 1];
    int64_t i = 0;
    while (i + 1 < kept && cum[i] < threshold) ++i;
    kept = i + 1;
  }
  const float u = Philox(params.seed, RandomPurpose::kSampling, params.choice).Uniform(static_cast<uint64_t>(position));
  const float target = u * cum[kept - 1];
  for (int64_t i = 0; i < kept; ++i)
    if (cum[i] > target) return order[i];
  return order[kept - 1];
}

}  // namespace aftune
