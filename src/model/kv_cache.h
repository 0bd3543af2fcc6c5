// The keys and values one sequence has produced so far, for every layer of a
// span, laid out for AttendRow (tensor/attention.h): per layer and kv-head, the
// keys transposed [D, capacity] and the values [capacity, D]. A decode step
// attends over exactly the numbers a teacher-forced pass would, in the same
// order, so the two agree bit for bit.
#pragma once

#include <cstdint>
#include <vector>

#include "model/config.h"
#include "model/llama_names.h"

namespace aftune {

class KvCache {
 public:
  // REQUIRES: capacity <= cfg.max_position_embeddings.
  KvCache(const ModelConfig& cfg, LayerSpan span, int64_t capacity);

  int64_t capacity() const { return capacity_; }
  int64_t length() const { return length_; }
  // Marks `n` more positions as filled (after every layer wrote them).
  void Advance(int64_t n) { length_ += n; }

  // Keys of (layer, kv-head) transposed: element (d, j) at [d * capacity() + j].
  float* keys_t(int64_t layer, int64_t g) { return data_.data() + Offset(layer, g, 0); }
  // Values of (layer, kv-head): element (j, d) at [j * D + d].
  float* values(int64_t layer, int64_t g) { return data_.data() + Offset(layer, g, 1); }

 private:
  int64_t Offset(int64_t layer, int64_t g, int which) const;

  LayerSpan span_;
  int64_t kv_heads_, head_dim_, capacity_, length_ = 0;
  std::vector<float> data_;
};

}  // namespace aftune
