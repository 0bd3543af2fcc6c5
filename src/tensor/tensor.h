// Tensor: a dense, row-major f32 array with a shape. All compute is f32;
// other storage dtypes are converted on load (see dtype.h).
//
// Shape letters used across aftune's headers:
//   N  tokens in a packed batch (the sum of the sequences' lengths)
//   T  tokens of one sequence       C  hidden size (model width)
//   H  attention heads              Hk key/value heads (GQA: H % Hk == 0)
//   D  head dimension               F  MLP intermediate size
//   V  vocabulary size              R  LoRA rank
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
#include <string>
#include <vector>

namespace aftune {

// 64-byte aligned allocation, so SIMD loads of whole rows never split lines.
template <typename T>
struct AlignedAllocator {
  using value_type = T;
  AlignedAllocator() = default;
  template <typename U>
  AlignedAllocator(const AlignedAllocator<U>&) {}
  T* allocate(size_t n) {
    return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t(64)));
  }
  void deallocate(T* p, size_t) { ::operator delete(p, std::align_val_t(64)); }
  template <typename U>
  bool operator==(const AlignedAllocator<U>&) const { return true; }
};

using FloatVector = std::vector<float, AlignedAllocator<float>>;

class Tensor {
 public:
  Tensor() = default;
  // A zero-filled tensor. REQUIRES: every dim >= 0.
  explicit Tensor(std::vector<int64_t> shape);

  const std::vector<int64_t>& shape() const { return shape_; }
  int ndim() const { return static_cast<int>(shape_.size()); }
  // REQUIRES: 0 <= i < ndim().
  int64_t dim(int i) const { return shape_[static_cast<size_t>(i)]; }
  int64_t numel() const { return static_cast<int64_t>(data_.size()); }
  bool empty() const { return data_.empty(); }

  float* data() { return data_.data(); }
  const float* data() const { return data_.data(); }
  float& operator[](int64_t i) { return data_[static_cast<size_t>(i)]; }
  float operator[](int64_t i) const { return data_[static_cast<size_t>(i)]; }

  void Fill(float v);
  // Gives the tensor `shape`, reusing its buffer when the element count is
  // unchanged. The contents are then unspecified: for outputs that the caller
  // overwrites completely (activation buffers reused across steps).
  void ResizeUninitialized(std::vector<int64_t> shape);
  // Changes the shape, keeping the data. REQUIRES: same numel.
  void Reshape(std::vector<int64_t> shape);
  // "[2, 3, 4]"
  std::string ShapeString() const;

  // Bitwise equality of shape and every element (distinguishes -0 and NaNs).
  bool BitEqual(const Tensor& other) const;

 private:
  std::vector<int64_t> shape_;
  FloatVector data_;
};

int64_t NumElements(const std::vector<int64_t>& shape);

}  // namespace aftune
