#include "tensor/swiglu.h"

#include <algorithm>

#include "tensor/mathfn.h"
#include "tensor/thread_pool.h"

namespace aftune {

namespace {
// Elements per inner block: ExpArray runs over a block held on the stack, so
// the exponentials vectorise and every element sees the same operations as
// Silu() does one at a time.
constexpr int64_t kBlock = 256;

// s[i] = sigmoid(x[i]) = 1 / (1 + ExpF(-x[i])), for i < n <= kBlock.
void SigmoidBlock(const float* x, float* s, int64_t n) {
  for (int64_t i = 0; i < n; ++i) s[i] = -x[i];
  ExpArray(s, s, n);
  for (int64_t i = 0; i < n; ++i) s[i] = 1.0f / (1.0f + s[i]);
}
}  // namespace

float Silu(float x) { return x * (1.0f / (1.0f + ExpF(-x))); }

void SwigluForward(const float* gate, const float* up, float* h, int64_t n) {
  DefaultPool().ParallelFor(n, 4096, [&](int64_t begin, int64_t end) {
    float s[kBlock];
    for (int64_t b = begin; b < end; b += kBlock) {
      const int64_t m = std::min(kBlock, end - b);
      SigmoidBlock(gate + b, s, m);
      for (int64_t i = 0; i < m; ++i) h[b + i] = (gate[b + i] * s[i]) * up[b + i];
    }
  });
}

void SwigluBackward(const float* dh, const float* gate, const float* up, float* dgate, float* dup,
                    int64_t n) {
  DefaultPool().ParallelFor(n, 4096, [&](int64_t begin, int64_t end) {
    float s[kBlock];
    for (int64_t b = begin; b < end; b += kBlock) {
      const int64_t m = std::min(kBlock, end - b);
      SigmoidBlock(gate + b, s, m);
      for (int64_t i = 0; i < m; ++i) {
        const float x = gate[b + i], si = s[i];
        dup[b + i] = dh[b + i] * (x * si);
        dgate[b + i] = (dh[b + i] * up[b + i]) * (si * (1.0f + x * (1.0f - si)));
      }
    }
  });
}

}  // namespace aftune
