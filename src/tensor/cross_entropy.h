// Mean cross-entropy of logits against target ids, skipping ignored targets.
//   loss = (1 / count) * sum over scored rows n (ascending) of
//          (lse_n - logits[n, target_n]),   lse_n = m + LogF(sum_v ExpF(x_v - m))
// where count = number of rows whose target != kIgnoreIndex. Every sum runs in
// ascending index order.
#pragma once

#include <cstdint>

namespace aftune {

constexpr int32_t kIgnoreIndex = -100;  // as PyTorch's default ignore_index

struct CrossEntropyResult {
  float loss = 0.0f;      // mean over scored rows (0 when count == 0)
  float loss_sum = 0.0f;  // sum over scored rows
  int64_t count = 0;
};

// logits [N, V], targets [N] (each in [0, V) or kIgnoreIndex). lse [N]
// receives each row's log-sum-exp (for the backward); may be nullptr.
// REQUIRES: every non-ignored target in [0, V).
CrossEntropyResult CrossEntropyForward(const float* logits, const int32_t* targets, float* lse,
                                       int64_t N, int64_t V);

// dlogits [N, V] (overwritten) = dscale * (softmax(logits) - onehot(target)) for
// scored rows, 0 for ignored rows. For the mean loss, dscale = dloss / count.
void CrossEntropyBackward(const float* logits, const int32_t* targets, const float* lse,
                          float dscale, float* dlogits, int64_t N, int64_t V);

// Log-softmax of one row: out[v] = x[v] - lse. Used by samplers and eval.
float LogSumExp(const float* x, int64_t V);

}  // namespace aftune
