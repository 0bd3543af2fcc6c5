// Global-norm gradient clipping, as torch.nn.utils.clip_grad_norm_ does it,
// with the reduction in one canonical order so the norm's bits do not depend
// on the thread count.
//
// Canonical order of SumOfSquares(g), all in IEEE f64 (the square of an f32
// is exact in f64, so only the additions round):
//   - the elements, in index order, are cut into chunks of kSumSquaresChunk
//     (the last may be shorter; an empty tensor has none);
//   - within a chunk, element i (index relative to the chunk start) goes to
//     lane i mod 8; each lane is a sequential sum, starting at 0, of
//     f64(x) * f64(x) in index order; the lanes combine as
//     ((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7));
//   - the chunk sums are added sequentially in chunk order, starting at 0.
// GlobalGradNorm(grads) = f32(sqrt(t)), t the sequential sum, starting at 0,
// of SumOfSquares over the tensors in name order (TensorMap order, bytewise),
// sqrt the IEEE f64 sqrt. Threads split over chunks; every chunk is summed by
// one thread and the partial sums are combined in the order above.
//
// An auditor that holds only some layer-blocks can check its blocks' per-tensor
// SumOfSquares bits, and combine committed per-tensor sums with
// NormFromSumsOfSquares.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "model/llama_names.h"
#include "tensor/tensor.h"

namespace aftune {

inline constexpr int64_t kSumSquaresChunk = int64_t{1} << 16;

// The f64 sum of squares of g's elements, in the order above.
double SumOfSquares(const Tensor& g);

// f32(sqrt(sum of sums in the given order, starting at 0)).
float NormFromSumsOfSquares(std::span<const double> sums);

// SumOfSquares of every tensor, in name order, all chunks of all tensors
// spread over the threads at once.
std::vector<double> SumsOfSquares(const TensorMap& grads);

// The L2 norm of all elements of all tensors, in the order above:
// NormFromSumsOfSquares(SumsOfSquares(grads)).
float GlobalGradNorm(const TensorMap& grads);

// PyTorch's clip coefficient max_norm / (norm + 1e-6), here one f64 division
// rounded to f32: f32(max_norm / (f64(norm) + 1e-6)). Clipping applies it
// only when it is < 1 (never for a NaN norm; an infinite norm gives 0).
float ClipCoefficient(float norm, double max_norm);

// g[i] = g[i] * scale (f32) for every element of every tensor. Also the
// helper for gradient accumulation (e.g. scale = f32(1 / k) after summing k
// micro-batches' gradients).
void ScaleGrads(float scale, TensorMap* grads);

// Scales every gradient of `grads` by ClipCoefficient(norm, max_norm) when
// it is < 1, `norm` being the global norm of a set of gradients of which
// `grads` may be a part (an auditor holding one layer-block rebuilds the
// norm with NormFromSumsOfSquares). REQUIRES: max_norm > 0 and finite.
void ClipWithNorm(float norm, double max_norm, TensorMap* grads);

// clip_grad_norm_(max_norm): computes the global norm, and when
// ClipCoefficient(norm, max_norm) < 1 scales every gradient by it. Returns
// the norm before clipping (what the step record carries; a trainer should
// refuse a non-finite one). REQUIRES: max_norm > 0 and finite.
float ClipGradNorm(double max_norm, TensorMap* grads);

}  // namespace aftune
