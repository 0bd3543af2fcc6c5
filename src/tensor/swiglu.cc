#include "tensor/swiglu.h"

#include "tensor/mathfn.h"
#include "tensor/thread_pool.h"

namespace aftune {

namespace {
float Sigmoid(float x) { return 1.0f / (1.0f + ExpF(-x)); }
}  // namespace

float Silu(float x) { return x * Sigmoid(x); }

void SwigluForward(const float* gate, const float* up, float* h, int64_t n) {
  DefaultPool().ParallelFor(n, 4096, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) h[i] = Silu(gate[i]) * up[i];
  });
}

void SwigluBackward(const float* dh, const float* gate, const float* up, float* dgate, float* dup,
                    int64_t n) {
  DefaultPool().ParallelFor(n, 4096, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const float x = gate[i], s = Sigmoid(x);
      dup[i] = dh[i] * (x * s);
      dgate[i] = (dh[i] * up[i]) * (s * (1.0f + x * (1.0f - s)));
    }
  });
}

}  // namespace aftune
