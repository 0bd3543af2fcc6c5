#include "trace/tensor_store.h"

#include <zstd.h>

#include "base/file.h"
#include "model/safetensors.h"
#include "protocol/trace_record.h"

namespace aftune {

namespace {

// Fast enough to keep up with training; f32 tensors gain little from more.
constexpr int kZstdLevel = 1;
// The largest object read back (a decompression bomb guard): far above any
// block state this engine can train.
constexpr uint64_t kMaxObjectBytes = uint64_t{64} << 30;

Result<std::string> Compress(const std::string& raw) {
  std::string out(ZSTD_compressBound(raw.size()), '\0');
  size_t n = ZSTD_compress(out.data(), out.size(), raw.data(), raw.size(), kZstdLevel);
  if (ZSTD_isError(n)) return Status::IOError(std::string("zstd compression failed: ") + ZSTD_getErrorName(n));
  out.resize(n);
  return out;
}

Result<std::string> Decompress(const std::string& packed, const std::string& source) {
  unsigned long long size = ZSTD_getFrameContentSize(packed.data(), packed.size());
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN || size > kMaxObjectBytes)
    return Status::Corruption(source + ": not a zstd frame with a known size");
  std::string raw(size, '\0');
  size_t n = ZSTD_decompress(raw.data(), raw.size(), packed.data(), packed.size());
  if (ZSTD_isError(n) || n != size)
    return Status::Corruption(source + ": zstd: " + (ZSTD_isError(n) ? ZSTD_getErrorName(n) : "short frame"));
  return raw;
}

}  // namespace

std::string TensorStore::ObjectPath(const Hash& digest) const {
  const std::string hex = HashToHex(digest);
  return dir_ + "/" + hex.substr(0, 2) + "/" + hex + ".safetensors.zst";
}

bool TensorStore::Has(const Hash& digest) const { return FileExists(ObjectPath(digest)); }

Status TensorStore::Put(const Hash& digest, const TensorMap& tensors) {
  const std::string path = ObjectPath(digest);
  if (FileExists(path)) return Status::Ok();
  AFTUNE_ASSIGN_OR_RETURN(std::string raw, SerializeSafetensorsF32(tensors, DType::kF32, {}));
  AFTUNE_ASSIGN_OR_RETURN(std::string packed, Compress(raw));
  AFTUNE_RETURN_IF_ERROR(MakeDirs(path.substr(0, path.rfind('/'))));
  AFTUNE_RETURN_IF_ERROR(WriteFileAtomic(path, packed));
  bytes_written_ += packed.size();
  return Status::Ok();
}

Result<TensorMap> TensorStore::Get(const Hash& digest) const {
  const std::string path = ObjectPath(digest);
  if (!FileExists(path)) return Status::NotFound(path + ": no such object in the store");
  AFTUNE_ASSIGN_OR_RETURN(std::string packed, ReadFile(path));
  AFTUNE_ASSIGN_OR_RETURN(std::string raw, Decompress(packed, path));
  AFTUNE_ASSIGN_OR_RETURN(SafetensorsFile file, SafetensorsFile::Parse(std::move(raw), path));
  for (const SafetensorsEntry& e : file.entries())
    if (e.dtype != DType::kF32) return Status::Corruption(path + ": tensor " + e.name + " is not F32");
  return file.AllF32();
}

Result<TensorMap> TensorStore::GetState(const Hash& digest) const {
  AFTUNE_ASSIGN_OR_RETURN(TensorMap state, Get(digest));
  std::vector<NamedDigest> digests;
  for (const auto& [name, t] : state) digests.push_back({name, F32TensorDigest(name, t)});
  AFTUNE_ASSIGN_OR_RETURN(Hash found, StateDigest(std::move(digests)));
  if (found != digest)
    return Status::Corruption(ObjectPath(digest) + ": holds a state with digest " + HashToHex(found));
  return state;
}

Result<Tensor> TensorStore::GetTensor(const Hash& digest, const std::string& name) const {
  AFTUNE_ASSIGN_OR_RETURN(TensorMap one, Get(digest));
  if (one.size() != 1 || one.begin()->first != name)
    return Status::Corruption(ObjectPath(digest) + ": does not hold exactly the tensor " + name);
  if (F32TensorDigest(name, one.begin()->second) != digest)
    return Status::Corruption(ObjectPath(digest) + ": tensor " + name + " does not hash to its name");
  return std::move(one.begin()->second);
}

}  // namespace aftune
