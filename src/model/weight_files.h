// The weight files of a model directory in the Hugging Face layout: either
// DIR/model.safetensors alone, or the shards DIR/model.safetensors.index.json
// lists (safetensors_index.h), each mapped read-only.
//
// Opening reads the index and every file's header only: a tensor's bytes are
// read from its file when first touched, so a caller that uses one layer-block
// reads that block's bytes alone.
//
// Trust: Open accepts a directory only when its files agree exactly. A tensor
// listed in the index must be in the shard it names; a tensor in a shard must
// be listed in the index under that shard; no tensor may be in two files;
// every file must parse (safetensors.h). A directory holding both layouts is
// refused rather than one of them silently chosen.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "model/llama_names.h"
#include "model/safetensors.h"
#include "tensor/gemm.h"

namespace aftune {

// A tensor as stored, not owned: `dtype` elements (F32, BF16 or F16, native
// little-endian, aligned to their size), row-major, of `shape`. Base weights
// are held this way, pointing into the mapped weight files, and widened to f32
// only where they are used (Gemm packing, a norm's few floats): widening is
// exact, so every result is the one f32 tensors would give.
struct WeightView {
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  const void* data = nullptr;

  int64_t dim(size_t i) const { return shape[i]; }
  int64_t numel() const { return NumElements(shape); }
  // A 2-D view as Gemm's B operand (row stride = shape[1]).
  StoredMatrix matrix() const { return StoredMatrix{dtype, data, shape.size() == 2 ? shape[1] : numel()}; }
  // Element i widened to f32.
  float At(int64_t i) const { return StoredMatrix{dtype, data, 0}.At(0, i); }
};
using WeightMap = std::map<std::string, WeightView>;

// F32 views of every tensor of `tensors` (which must outlive them and keep
// its tensors' buffers: no resizing).
WeightMap ViewsOf(const TensorMap& tensors);
// An owned f32 copy of a view.
Tensor Widened(const WeightView& view);

inline constexpr char kSingleWeightsName[] = "model.safetensors";

class WeightFiles {
 public:
  // Errors: NotFound when DIR holds neither layout or a listed shard is
  // missing; InvalidArgument when it holds both; Corruption naming the tensor
  // and the file when the files disagree or one does not parse.
  static Result<WeightFiles> Open(const std::string& dir);
  // Open(path) for a directory; for a file, that one safetensors file alone
  // (an adapter, a delivered model named by its file).
  static Result<WeightFiles> OpenFileOrDir(const std::string& path);

  WeightFiles(WeightFiles&&) = default;
  WeightFiles& operator=(WeightFiles&&) = default;

  // A tensor and the file holding it. Views stay valid while this object
  // lives (moving it keeps them valid).
  struct Tensor {
    const SafetensorsEntry* entry;
    const SafetensorsFile* file;
  };
  // The tensor called `name`, or {nullptr, nullptr}.
  Tensor Find(std::string_view name) const;
  // Every tensor of every file, sorted by name (names are unique).
  const std::vector<Tensor>& tensors() const { return tensors_; }
  // The files, model.safetensors or the shards in name order.
  const std::vector<SafetensorsFile>& files() const { return files_; }
  bool sharded() const { return sharded_; }
  // The file to name in an error about the directory's tensors as a whole
  // (a tensor that should be there and is not): the index, or model.safetensors.
  const std::string& listing_path() const { return listing_path_; }

 private:
  WeightFiles() = default;
  void IndexTensors();

  std::vector<SafetensorsFile> files_;
  std::vector<Tensor> tensors_;
  std::string listing_path_;
  bool sharded_ = false;
};

}  // namespace aftune
