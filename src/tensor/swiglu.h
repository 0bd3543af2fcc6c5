// SwiGLU (Shazeer 2020), the LLaMA MLP's nonlinearity:
//   h = silu(gate) * up,   silu(x) = x * sigmoid(x) = x / (1 + ExpF(-x))
#pragma once

#include <cstdint>

namespace aftune {

float Silu(float x);

// gate, up, h: n floats each (h may not alias the inputs).
void SwigluForward(const float* gate, const float* up, float* h, int64_t n);

// dh -> dgate, dup (overwritten), from the forward's gate and up.
//   dgate = dh * up * s * (1 + x (1 - s)),  dup = dh * silu(x),  s = sigmoid(x)
void SwigluBackward(const float* dh, const float* gate, const float* up, float* dgate, float* dup,
                    int64_t n);

}  // namespace aftune
