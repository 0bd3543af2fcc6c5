#include "trace/tensor_store.h"

#include <zstd.h>

#include <bit>
#include <memory>

#include "base/atomic_file.h"
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

// The object's bytes as a zstd frame of the canonical safetensors file
// (SerializeSafetensorsF32 of `tensors`, no metadata), streamed into `out`
// from the tensors' own memory.
Status CompressObject(const TensorRefs& tensors, AtomicFileWriter* out) {
  static_assert(std::endian::native == std::endian::little, "F32 bytes are stored little-endian as they are");
  std::vector<SafetensorsTensorInfo> infos;
  for (const auto& [name, t] : tensors) infos.push_back({name, DType::kF32, t->shape()});
  AFTUNE_ASSIGN_OR_RETURN(std::string prefix, SafetensorsPrefix(infos, {}));
  uint64_t total = prefix.size();
  for (const auto& [name, t] : tensors) total += static_cast<uint64_t>(t->numel()) * sizeof(float);
  std::unique_ptr<ZSTD_CCtx, size_t (*)(ZSTD_CCtx*)> cctx(ZSTD_createCCtx(), ZSTD_freeCCtx);
  AFTUNE_CHECK(cctx != nullptr);
  // The frame records the size, which reading an object requires.
  AFTUNE_CHECK(!ZSTD_isError(ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_compressionLevel, kZstdLevel)));
  AFTUNE_CHECK(!ZSTD_isError(ZSTD_CCtx_setPledgedSrcSize(cctx.get(), total)));
  std::string buf(ZSTD_CStreamOutSize(), '\0');
  auto feed = [&](std::string_view in, ZSTD_EndDirective mode) -> Status {
    ZSTD_inBuffer ib{in.data(), in.size(), 0};
    for (;;) {
      ZSTD_outBuffer ob{buf.data(), buf.size(), 0};
      const size_t left = ZSTD_compressStream2(cctx.get(), &ob, &ib, mode);
      if (ZSTD_isError(left)) return Status::IOError(std::string("zstd compression failed: ") + ZSTD_getErrorName(left));
      AFTUNE_RETURN_IF_ERROR(out->Append(std::string_view(buf.data(), ob.pos)));
      if (mode == ZSTD_e_end ? left == 0 : ib.pos == ib.size) return Status::Ok();
    }
  };
  AFTUNE_RETURN_IF_ERROR(feed(prefix, ZSTD_e_continue));
  for (const auto& [name, t] : tensors)
    AFTUNE_RETURN_IF_ERROR(feed(std::string_view(reinterpret_cast<const char*>(t->data()),
                                                 static_cast<size_t>(t->numel()) * sizeof(float)),
                                ZSTD_e_continue));
  return feed({}, ZSTD_e_end);
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

TensorRefs RefsOf(const TensorMap& tensors) {
  TensorRefs views;
  for (const auto& [name, t] : tensors) views.emplace(name, &t);
  return views;
}

Status TensorStore::Put(const Hash& digest, const TensorRefs& tensors) {
  const std::string path = ObjectPath(digest);
  if (FileExists(path)) return Status::Ok();
  AFTUNE_RETURN_IF_ERROR(MakeDirs(path.substr(0, path.rfind('/'))));
  AFTUNE_ASSIGN_OR_RETURN(AtomicFileWriter out, AtomicFileWriter::Create(path));
  AFTUNE_RETURN_IF_ERROR(CompressObject(tensors, &out));
  const uint64_t size = out.size();
  AFTUNE_RETURN_IF_ERROR(out.Commit());
  bytes_written_ += size;
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
