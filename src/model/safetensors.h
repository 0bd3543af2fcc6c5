// Reading and writing safetensors files: the byte format, the strict checks
// the reader makes and the canonical form the writer produces are specified at
// the top of safetensors.cc.
//
// Trust: the bytes of a safetensors file come from outside. Parse() accepts a
// file only if every entry is well typed, every byte range lies inside the
// data buffer, matches its shape and dtype, and the ranges tile the buffer
// exactly (no overlap, no hole, nothing after the last tensor). Anything else
// is one Status::Corruption naming the file and the problem; no input makes
// it read out of bounds or allocate more than a small multiple of the input.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/mapped_file.h"
#include "base/status.h"
#include "tensor/dtype.h"
#include "tensor/tensor.h"

namespace aftune {

// The largest JSON header accepted, in bytes (the reference implementation's
// limit).
inline constexpr uint64_t kSafetensorsMaxHeaderBytes = 100'000'000;

// A name from outside for an error message: in single quotes, bytes outside
// printable ASCII (and quotes, backslashes) as \xNN, cut after 120 bytes, so
// a hostile name cannot make a hostile message.
std::string QuoteName(std::string_view s);

// One tensor of a parsed file.
struct SafetensorsEntry {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;  // every dim >= 0; [] is a scalar (one element)
  // data_offsets as written in the header: relative to the data buffer.
  uint64_t data_begin = 0;
  uint64_t data_end = 0;
  // The tensor's bytes as stored: `dtype` elements, little-endian, row-major.
  // A view into the owning SafetensorsFile; valid while that object lives
  // (moving the object keeps it valid).
  std::span<const uint8_t> bytes;

  int64_t numel() const { return NumElements(shape); }
};

// A parsed safetensors file. Owns the file's bytes (in memory or mapped);
// entries view into them.
// Immutable after Parse, so safe to read from several threads.
class SafetensorsFile {
 public:
  // Parses a whole file held in `bytes` (taken over by the object). `source`
  // (usually the path) prefixes every error message.
  static Result<SafetensorsFile> Parse(std::string bytes, std::string source);
  // Maps the file at `path` read-only (base/mapped_file.h) and parses it:
  // only the header's pages are read here; a tensor's bytes are read from
  // the file when first touched. Errors name `path`.
  static Result<SafetensorsFile> Read(const std::string& path);

  SafetensorsFile(SafetensorsFile&&) = default;
  SafetensorsFile& operator=(SafetensorsFile&&) = default;
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& source() const { return source_; }
  // Every tensor, sorted by name (bytewise ascending), names unique.
  const std::vector<SafetensorsEntry>& entries() const { return entries_; }
  // The entry called `name`, or nullptr.
  const SafetensorsEntry* Find(std::string_view name) const;
  // The "__metadata__" map (empty when the header has none).
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // N, the length of the JSON header (padding included).
  uint64_t header_size() const { return header_size_; }
  // The whole file as parsed.
  std::string_view file_bytes() const { return bytes_->bytes(); }
  // ByteSource::ReleasePages for bytes of this file (an entry's, once read).
  void ReleasePages(std::span<const uint8_t> bytes) const {
    bytes_->ReleasePages({reinterpret_cast<const char*>(bytes.data()), bytes.size()});
  }

  // The entry converted to f32. InvalidArgument naming the file and tensor
  // when its dtype is not F32, BF16 or F16.
  Result<Tensor> ToF32(const SafetensorsEntry& entry) const;
  // Every entry converted to f32 (same error as ToF32 for the first non-float).
  Result<std::map<std::string, Tensor>> AllF32() const;

 private:
  SafetensorsFile() = default;
  static Result<SafetensorsFile> FromSource(std::unique_ptr<ByteSource> owner, std::string source);

  std::unique_ptr<ByteSource> bytes_;  // fixed address, so views survive moves
  std::string source_;
  std::vector<SafetensorsEntry> entries_;
  std::map<std::string, std::string> metadata_;
  uint64_t header_size_ = 0;
};

// Reads a safetensors file and converts every tensor to f32. F32, BF16 and F16
// tensors convert exactly; any other dtype is an InvalidArgument naming the
// tensor.
Result<std::map<std::string, Tensor>> ReadSafetensorsF32(const std::string& path);

// Decodes `bytes` (little-endian `dtype` elements, row-major) into an f32
// tensor of `shape`. InvalidArgument when the dtype is not float storage, a
// dim is negative, or the byte count is not numel * DTypeSize(dtype).
Result<Tensor> DecodeFloatTensor(DType dtype, const std::vector<int64_t>& shape,
                                 std::span<const uint8_t> bytes);

// The bytes `tensor` is stored as in `storage` (little-endian, row-major),
// rounding to nearest even for BF16 and F16. These are the bytes the writer
// puts in the file and the tensor digest hashes.
// REQUIRES: IsFloatStorage(storage) (aborts otherwise).
std::string EncodeFloatTensor(const Tensor& tensor, DType storage);

// Writes x[0..n) stored as `storage` to out (n * DTypeSize(storage) bytes),
// as EncodeFloatTensor does. REQUIRES: IsFloatStorage(storage).
void EncodeFloats(const float* x, size_t n, DType storage, char* out);

// A tensor to write, already in its stored form.
struct SafetensorsTensorRef {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  std::string_view bytes;  // numel * DTypeSize(dtype) bytes; must outlive the call
};

// A tensor to write, described without its bytes (streaming writers).
struct SafetensorsTensorInfo {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
};

// The start of the canonical file holding `sorted` and `metadata`: the 8-byte
// header length and the padded header. The data buffer follows it: each
// tensor's bytes in the order of `sorted`, contiguous. InvalidArgument when
// the names are not strictly ascending (bytewise), or as SerializeSafetensors.
Result<std::string> SafetensorsPrefix(const std::vector<SafetensorsTensorInfo>& sorted,
                                      const std::map<std::string, std::string>& metadata);

// The canonical file holding `tensors` (any order on input) and `metadata`.
// InvalidArgument when a name is "__metadata__", repeated or not UTF-8, a
// metadata key or value is not UTF-8, a dim is negative, or a byte count does
// not match its shape and dtype.
Result<std::string> SerializeSafetensors(std::vector<SafetensorsTensorRef> tensors,
                                         const std::map<std::string, std::string>& metadata);

// The canonical file holding `tensors` stored as `storage`. InvalidArgument
// when `storage` is not F32, BF16 or F16, or as SerializeSafetensors.
Result<std::string> SerializeSafetensorsF32(const std::map<std::string, Tensor>& tensors,
                                            DType storage,
                                            const std::map<std::string, std::string>& metadata);

// SerializeSafetensorsF32 written to `path` atomically (WriteFileAtomic).
Status WriteSafetensors(const std::string& path, const std::map<std::string, Tensor>& tensors,
                        DType storage, const std::map<std::string, std::string>& metadata = {});

}  // namespace aftune
