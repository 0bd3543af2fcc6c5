#include "model/kv_cache.h"

#include "base/status.h"

namespace aftune {

KvCache::KvCache(const ModelConfig& cfg, LayerSpan span, int64_t capacity)
    : span_(span), kv_heads_(cfg.num_key_value_heads), head_dim_(cfg.head_dim), capacity_(capacity) {
  AFTUNE_CHECK(capacity >= 1 && capacity <= cfg.max_position_embeddings);
  const int64_t layers = span.end - span.begin;
  data_.resize(static_cast<size_t>(layers * kv_heads_ * 2 * head_dim_ * capacity_));
}

int64_t KvCache::Offset(int64_t layer, int64_t g, int which) const {
  AFTUNE_CHECK(layer >= span_.begin && layer < span_.end && g >= 0 && g < kv_heads_);
  const int64_t block = head_dim_ * capacity_;
  return (((layer - span_.begin) * kv_heads_ + g) * 2 + which) * block;
}

}  // namespace aftune
