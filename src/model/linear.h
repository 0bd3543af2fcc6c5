// A projection y = x W^T (+ b) with an optional LoRA adapter, forward and
// backward. Shapes: x [N, in], W [out, in], b [out], A [R, in], B [out, R],
// y [N, out].
#pragma once

#include <cstdint>

#include "tensor/gemm.h"
#include "tensor/tensor.h"

namespace aftune {

struct LinearWeights {
  // W [out, in] as stored (f32, or bf16/f16 widened inside Gemm: same bits).
  StoredMatrix w;
  int64_t out_features = 0, in_features = 0;
  const float* bias = nullptr;    // [out], or null: no bias
  const float* lora_a = nullptr;  // [R, in]; both null, or both set
  const float* lora_b = nullptr;  // [out, R]
  int64_t lora_rank = 0;
  float lora_scale = 0.0f;

  int64_t out() const { return out_features; }
  int64_t in() const { return in_features; }
  bool has_lora() const { return lora_a != nullptr; }
  int64_t rank() const { return has_lora() ? lora_rank : 0; }
};

// Where the backward puts parameter gradients; each may be null (not trained).
// Gradients are accumulated: every element's fma chain continues from its
// current value over the batch's rows in ascending order.
struct LinearGrads {
  Tensor* w = nullptr;
  Tensor* bias = nullptr;  // db[o] += dy[n, o] over n ascending
  Tensor* lora_a = nullptr;
  Tensor* lora_b = nullptr;
};

// y [N, out] = x W^T, then y[n, o] += b[o] with a bias, then, with the
// adapter, us = scale * (x A^T) [N, R] (saved into `u` for the backward;
// REQUIRES: N * R floats) and y += us B^T as a continuation of each
// element's fma chain (PEFT adds the adapter to the biased base output).
void LinearForward(const LinearWeights& lw, const float* x, int64_t N, float* y, float* u);

// The backward in two halves (model/decoder.h, "The backward in two
// halves"), from dy [N, out]; x and u (= us) are the forward's.
// The data half: dx [N, in] (overwritten, or accumulated when accumulate_dx)
// and, with the adapter, du [N, R] = scale * (dy B) (REQUIRES: N * R floats;
// the weight half's operand).
void LinearBackwardData(const LinearWeights& lw, const float* dy, int64_t N, float* dx, bool accumulate_dx,
                        float* du);
// The weight half: the gradients in `grads`, from the data half's du.
void LinearWeightGrads(const LinearWeights& lw, const float* x, const float* u, const float* dy, const float* du,
                       int64_t N, const LinearGrads& grads);

}  // namespace aftune
