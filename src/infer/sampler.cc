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

int32_t SampleToken(const float* logits, int64_t V, const SamplingParams& params, int64_t position) {
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
  const float u = Philox(params.seed, RandomPurpose::kSampling, 0).Uniform(static_cast<uint64_t>(position));
  const float target = u * cum[kept - 1];
  for (int64_t i = 0; i < kept; ++i)
    if (cum[i] > target) return order[i];
  return order[kept - 1];
}

}  // namespace aftune
