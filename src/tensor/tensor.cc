#include "tensor/tensor.h"

#include <algorithm>
#include <cstring>

#include "base/status.h"

namespace aftune {

int64_t NumElements(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    AFTUNE_CHECK(d >= 0);
    n *= d;
  }
  return n;
}

Tensor::Tensor(std::vector<int64_t> shape)
    : shape_(std::move(shape)), data_(static_cast<size_t>(NumElements(shape_)), 0.0f) {}

void Tensor::Fill(float v) { std::fill(data_.begin(), data_.end(), v); }

void Tensor::ResizeUninitialized(std::vector<int64_t> shape) {
  const int64_t n = NumElements(shape);
  if (n != numel()) data_ = FloatVector(static_cast<size_t>(n));
  shape_ = std::move(shape);
}

void Tensor::Reshape(std::vector<int64_t> shape) {
  AFTUNE_CHECK(NumElements(shape) == numel());
  shape_ = std::move(shape);
}

std::string Tensor::ShapeString() const {
  std::string s = "[";
  for (size_t i = 0; i < shape_.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape_[i]);
  }
  return s + "]";
}

bool Tensor::BitEqual(const Tensor& other) const {
  return shape_ == other.shape_ &&
         (data_.empty() || std::memcmp(data_.data(), other.data_.data(), data_.size() * sizeof(float)) == 0);
}

}  // namespace aftune
