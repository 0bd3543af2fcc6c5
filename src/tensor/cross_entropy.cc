#include "tensor/cross_entropy.h"

#include <algorithm>
#include <vector>

#include "base/status.h"
#include "tensor/mathfn.h"
#include "tensor/thread_pool.h"

namespace aftune {

namespace {
constexpr int64_t kBlock = 256;  // elements per vectorised ExpArray call
}  // namespace

float LogSumExp(const float* x, int64_t V) {
  float m = x[0];
  for (int64_t v = 1; v < V; ++v) m = std::max(m, x[v]);
  float z = 0.0f, e[kBlock];
  for (int64_t b = 0; b < V; b += kBlock) {
    const int64_t n = std::min(kBlock, V - b);
    for (int64_t i = 0; i < n; ++i) e[i] = x[b + i] - m;
    ExpArray(e, e, n);
    for (int64_t i = 0; i < n; ++i) z += e[i];
  }
  return m + LogF(z);
}

CrossEntropyResult CrossEntropyForward(const float* logits, const int32_t* targets, float* lse,
                                       int64_t N, int64_t V) {
  std::vector<float> row_loss(static_cast<size_t>(N), 0.0f);
  DefaultPool().ParallelFor(N, 8, [&](int64_t begin, int64_t end) {
    for (int64_t n = begin; n < end; ++n) {
      const float* x = logits + n * V;
      float l = LogSumExp(x, V);
      if (lse) lse[n] = l;
      int32_t t = targets[n];
      if (t == kIgnoreIndex) continue;
      AFTUNE_CHECK(t >= 0 && t < V);
      row_loss[n] = l - x[t];
    }
  });
  CrossEntropyResult r;
  for (int64_t n = 0; n < N; ++n) {
    if (targets[n] == kIgnoreIndex) continue;
    r.loss_sum += row_loss[n];
    ++r.count;
  }
  r.loss = r.count ? r.loss_sum / static_cast<float>(r.count) : 0.0f;
  return r;
}

void CrossEntropyBackward(const float* logits, const int32_t* targets, const float* lse,
                          float dscale, float* dlogits, int64_t N, int64_t V) {
  DefaultPool().ParallelFor(N, 8, [&](int64_t begin, int64_t end) {
    for (int64_t n = begin; n < end; ++n) {
      float* d = dlogits + n * V;
      int32_t t = targets[n];
      if (t == kIgnoreIndex) {
        std::fill(d, d + V, 0.0f);
        continue;
      }
      const float* x = logits + n * V;
      for (int64_t v = 0; v < V; ++v) d[v] = x[v] - lse[n];
      ExpArray(d, d, V);
      for (int64_t v = 0; v < V; ++v) d[v] = d[v] * dscale;
      d[t] -= dscale;
    }
  });
}

}  // namespace aftune
