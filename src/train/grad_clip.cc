#include "train/grad_clip.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "base/status.h"
#include "tensor/thread_pool.h"

namespace aftune {
namespace {

// The canonical sum of squares of one chunk (8 lanes, fixed combination).
double ChunkSumOfSquares(const float* x, int64_t n) {
  double lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int j = 0; j < 8; ++j) {
      double v = static_cast<double>(x[i + j]);
      lane[j] += v * v;
    }
  }
  for (int j = 0; i < n; ++i, ++j) {
    double v = static_cast<double>(x[i]);
    lane[j] += v * v;
  }
  return ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
}

struct Chunk {
  const float* x;
  int64_t n;
};

void AppendChunks(const Tensor& g, std::vector<Chunk>* chunks) {
  for (int64_t b = 0; b < g.numel(); b += kSumSquaresChunk)
    chunks->push_back({g.data() + b, std::min(kSumSquaresChunk, g.numel() - b)});
}

// Sums of the chunks, computed in parallel (one chunk, one thread).
std::vector<double> ChunkSums(const std::vector<Chunk>& chunks) {
  std::vector<double> sums(chunks.size());
  DefaultPool().ParallelFor(static_cast<int64_t>(chunks.size()), 1, [&](int64_t begin, int64_t end) {
    for (int64_t c = begin; c < end; ++c) {
      const Chunk& ch = chunks[static_cast<size_t>(c)];
      sums[static_cast<size_t>(c)] = ChunkSumOfSquares(ch.x, ch.n);
    }
  });
  return sums;
}

}  // namespace

double SumOfSquares(const Tensor& g) {
  std::vector<Chunk> chunks;
  AppendChunks(g, &chunks);
  double total = 0;
  for (double s : ChunkSums(chunks)) total += s;
  return total;
}

float NormFromSumsOfSquares(std::span<const double> sums) {
  double total = 0;
  for (double s : sums) total += s;
  return static_cast<float>(std::sqrt(total));
}

std::vector<double> SumsOfSquares(const TensorMap& grads) {
  std::vector<Chunk> chunks;
  std::vector<size_t> first;  // index of each tensor's first chunk, plus the end
  for (const auto& [name, g] : grads) {
    first.push_back(chunks.size());
    AppendChunks(g, &chunks);
  }
  first.push_back(chunks.size());
  std::vector<double> chunk_sums = ChunkSums(chunks);
  std::vector<double> tensor_sums;
  for (size_t t = 0; t + 1 < first.size(); ++t) {
    double s = 0;
    for (size_t c = first[t]; c < first[t + 1]; ++c) s += chunk_sums[c];
    tensor_sums.push_back(s);
  }
  return tensor_sums;
}

float GlobalGradNorm(const TensorMap& grads) { return NormFromSumsOfSquares(SumsOfSquares(grads)); }

float ClipCoefficient(float norm, double max_norm) {
  return static_cast<float>(max_norm / (static_cast<double>(norm) + 1e-6));
}

void ScaleGrads(float scale, TensorMap* grads) {
  for (auto& [name, g] : *grads) {
    float* x = g.data();
    DefaultPool().ParallelFor(g.numel(), 1 << 14, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) x[i] = x[i] * scale;
    });
  }
}

void ClipWithNorm(float norm, double max_norm, TensorMap* grads) {
  AFTUNE_CHECK(std::isfinite(max_norm) && max_norm > 0);
  float coef = ClipCoefficient(norm, max_norm);
  if (coef < 1.0f) ScaleGrads(coef, grads);
}

float ClipGradNorm(double max_norm, TensorMap* grads) {
  float norm = GlobalGradNorm(*grads);
  ClipWithNorm(norm, max_norm, grads);
  return norm;
}

}  // namespace aftune
