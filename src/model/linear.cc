#include "model/linear.h"

#include "tensor/gemm.h"
#include "tensor/thread_pool.h"

namespace aftune {

void LinearForward(const LinearWeights& lw, const float* x, int64_t N, float* y, float* u) {
  const int64_t in = lw.in(), out = lw.out();
  ThreadPool* pool = &DefaultPool();
  Gemm(Trans::kN, Trans::kT, N, out, in, x, in, lw.w, y, out, false, pool);
  if (lw.bias) {
    const float* b = lw.bias;
    pool->ParallelFor(N, 16, [&](int64_t begin, int64_t end) {
      for (int64_t n = begin; n < end; ++n)
        for (int64_t o = 0; o < out; ++o) y[n * out + o] += b[o];
    });
  }
  if (!lw.has_lora()) return;
  const int64_t R = lw.rank();
  Gemm(Trans::kN, Trans::kT, N, R, in, x, in, lw.lora_a, in, u, R, false, pool);
  const float scale = lw.lora_scale;
  for (int64_t i = 0; i < N * R; ++i) u[i] = u[i] * scale;
  Gemm(Trans::kN, Trans::kT, N, out, R, u, R, lw.lora_b, R, y, out, true, pool);
}

// With us = scale * (x A^T) and y += us B^T:  db += sum_n dy, dB += dy^T us,  dus = dy B,
// du = scale * dus,  dA += du^T x,  dx = dy W + du A.
void LinearBackwardData(const LinearWeights& lw, const float* dy, int64_t N, float* dx, bool accumulate_dx,
                        float* du) {
  const int64_t in = lw.in(), out = lw.out();
  ThreadPool* pool = &DefaultPool();
  Gemm(Trans::kN, Trans::kN, N, in, out, dy, out, lw.w, dx, in, accumulate_dx, pool);
  if (!lw.has_lora()) return;
  const int64_t R = lw.rank();
  Gemm(Trans::kN, Trans::kN, N, R, out, dy, out, lw.lora_b, R, du, R, false, pool);
  const float scale = lw.lora_scale;
  for (int64_t i = 0; i < N * R; ++i) du[i] = du[i] * scale;
  Gemm(Trans::kN, Trans::kN, N, in, R, du, R, lw.lora_a, in, dx, in, true, pool);
}

void LinearWeightGrads(const LinearWeights& lw, const float* x, const float* u, const float* dy, const float* du,
                       int64_t N, const LinearGrads& grads) {
  const int64_t in = lw.in(), out = lw.out();
  ThreadPool* pool = &DefaultPool();
  if (grads.w) Gemm(Trans::kT, Trans::kN, out, in, N, dy, out, x, in, grads.w->data(), in, true, pool);
  if (grads.bias) {
    float* db = grads.bias->data();
    pool->ParallelFor(out, 256, [&](int64_t begin, int64_t end) {
      for (int64_t n = 0; n < N; ++n)
        for (int64_t o = begin; o < end; ++o) db[o] += dy[n * out + o];
    });
  }
  if (!lw.has_lora()) return;
  const int64_t R = lw.rank();
  if (grads.lora_b) Gemm(Trans::kT, Trans::kN, out, R, N, dy, out, u, R, grads.lora_b->data(), R, true, pool);
  if (grads.lora_a) Gemm(Trans::kT, Trans::kN, R, in, N, du, R, x, in, grads.lora_a->data(), in, true, pool);
}

}  // namespace aftune
