// RMSNorm (Zhang & Sennrich 2019), as in LLaMA:
//   y[n,c] = x[n,c] * rstd[n] * w[c],   rstd[n] = 1 / sqrt(mean_c(x[n,c]^2) + eps)
// Canonical order: the sum of squares of a row is a sequential fma chain over c.
// Rows are independent (batch invariant); threads split over rows.
#pragma once

#include <cstdint>

namespace aftune {

// x [N,C], w [C] -> y [N,C], rstd [N] (saved for backward).
void RmsNormForward(const float* x, const float* w, float* y, float* rstd, int64_t N, int64_t C,
                    float eps);

// dy [N,C] -> dx [N,C] (overwritten), dw [C] (accumulated, sum over n in
// ascending order; nullptr to skip). Uses x, w and rstd from the forward.
void RmsNormBackward(const float* dy, const float* x, const float* w, const float* rstd, float* dx,
                     float* dw, int64_t N, int64_t C);

// The dw half of RmsNormBackward alone (the same bits): dw[c] continues its
// fma chain over n ascending with dy[n,c] * (x[n,c] * rstd[n]).
void RmsNormWeightGrad(const float* dy, const float* x, const float* rstd, float* dw, int64_t N, int64_t C);

}  // namespace aftune
