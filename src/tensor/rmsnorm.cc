#include "tensor/rmsnorm.h"

#include <cmath>

#include "tensor/mathfn.h"
#include "tensor/thread_pool.h"

namespace aftune {

void RmsNormForward(const float* x, const float* w, float* y, float* rstd, int64_t N, int64_t C,
                    float eps) {
  DefaultPool().ParallelFor(N, 16, [&](int64_t begin, int64_t end) {
    for (int64_t n = begin; n < end; ++n) {
      const float* xr = x + n * C;
      float ss = 0.0f;
      for (int64_t c = 0; c < C; ++c) ss = std::fma(xr[c], xr[c], ss);
      float r = RsqrtF(ss / static_cast<float>(C) + eps);
      rstd[n] = r;
      float* yr = y + n * C;
      for (int64_t c = 0; c < C; ++c) yr[c] = (xr[c] * r) * w[c];
    }
  });
}

// With xhat = x * rstd and g = dy * w:
//   dx = rstd * (g - xhat * mean_c(g * xhat)),   dw[c] = sum_n dy[n,c] * xhat[n,c]
void RmsNormBackward(const float* dy, const float* x, const float* w, const float* rstd, float* dx,
                     float* dw, int64_t N, int64_t C) {
  DefaultPool().ParallelFor(N, 16, [&](int64_t begin, int64_t end) {
    for (int64_t n = begin; n < end; ++n) {
      const float* xr = x + n * C;
      const float* dyr = dy + n * C;
      float r = rstd[n];
      float dot = 0.0f;  // sum_c g * xhat
      for (int64_t c = 0; c < C; ++c) dot = std::fma(dyr[c] * w[c], xr[c] * r, dot);
      float mean = dot / static_cast<float>(C);
      float* dxr = dx + n * C;
      for (int64_t c = 0; c < C; ++c) {
        float xhat = xr[c] * r;
        dxr[c] = r * ((dyr[c] * w[c]) - xhat * mean);
      }
    }
  });
  if (dw != nullptr) RmsNormWeightGrad(dy, x, rstd, dw, N, C);
}

void RmsNormWeightGrad(const float* dy, const float* x, const float* rstd, float* dw, int64_t N, int64_t C) {
  // Columns are independent; each column's sum runs over n in order.
  DefaultPool().ParallelFor(C, 64, [&](int64_t begin, int64_t end) {
    for (int64_t n = 0; n < N; ++n) {
      const float* xr = x + n * C;
      const float* dyr = dy + n * C;
      float r = rstd[n];
      for (int64_t c = begin; c < end; ++c) dw[c] = std::fma(dyr[c], xr[c] * r, dw[c]);
    }
  });
}

}  // namespace aftune
