// libFuzzer target: SafetensorsFile::Parse on arbitrary bytes.
//
// Beyond "no crash, no sanitizer report", an accepted file must satisfy what
// the parser promises: views inside the file, sizes matching shapes, float
// entries decodable (and re-encodable to the same bytes, NaN payloads aside),
// and its canonical re-serialization parses back to the same entries and is
// a fixed point.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "base/status.h"
#include "model/safetensors.h"

using aftune::DType;
using aftune::SafetensorsEntry;
using aftune::SafetensorsFile;

namespace {

std::vector<aftune::SafetensorsTensorRef> Refs(const SafetensorsFile& f) {
  std::vector<aftune::SafetensorsTensorRef> refs;
  for (const SafetensorsEntry& e : f.entries()) {
    refs.push_back({e.name, e.dtype, e.shape,
                    std::string_view(reinterpret_cast<const char*>(e.bytes.data()), e.bytes.size())});
  }
  return refs;
}

void CheckEntry(const SafetensorsFile& f, const SafetensorsEntry& e) {
  const auto* lo = reinterpret_cast<const uint8_t*>(f.file_bytes().data());
  const auto* hi = lo + f.file_bytes().size();
  AFTUNE_CHECK(e.bytes.data() >= lo && e.bytes.data() + e.bytes.size() <= hi);
  AFTUNE_CHECK(e.data_end - e.data_begin == e.bytes.size());
  AFTUNE_CHECK(static_cast<uint64_t>(e.numel()) * static_cast<uint64_t>(aftune::DTypeSize(e.dtype)) ==
               e.bytes.size());
  aftune::Result<aftune::Tensor> t = f.ToF32(e);
  AFTUNE_CHECK(t.ok() == aftune::IsFloatStorage(e.dtype));
  if (!t.ok()) return;
  const std::string again = aftune::EncodeFloatTensor(*t, e.dtype);
  AFTUNE_CHECK(again.size() == e.bytes.size());
  const size_t w = static_cast<size_t>(aftune::DTypeSize(e.dtype));
  for (int64_t i = 0; i < t->numel(); ++i) {
    if (std::isnan((*t)[i])) continue;  // quieting may change a NaN payload
    AFTUNE_CHECK(std::memcmp(again.data() + static_cast<size_t>(i) * w, e.bytes.data() + static_cast<size_t>(i) * w,
                             w) == 0);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  aftune::Result<SafetensorsFile> r =
      SafetensorsFile::Parse(std::string(reinterpret_cast<const char*>(data), size), "fuzz");
  if (!r.ok()) {
    AFTUNE_CHECK(r.status().code() == aftune::Status::Code::kCorruption);
    AFTUNE_CHECK(!r.status().message().empty());
    return 0;
  }
  for (const SafetensorsEntry& e : r->entries()) CheckEntry(*r, e);

  aftune::Result<std::string> canon = aftune::SerializeSafetensors(Refs(*r), r->metadata());
  AFTUNE_CHECK(canon.ok());
  aftune::Result<SafetensorsFile> back = SafetensorsFile::Parse(*canon, "canonical");
  AFTUNE_CHECK(back.ok());
  AFTUNE_CHECK(back->metadata() == r->metadata());
  AFTUNE_CHECK(back->entries().size() == r->entries().size());
  for (size_t i = 0; i < r->entries().size(); ++i) {
    const SafetensorsEntry& a = r->entries()[i];
    const SafetensorsEntry& b = back->entries()[i];
    AFTUNE_CHECK(a.name == b.name && a.dtype == b.dtype && a.shape == b.shape);
    AFTUNE_CHECK(a.bytes.size() == b.bytes.size() &&
                 (a.bytes.empty() || std::memcmp(a.bytes.data(), b.bytes.data(), a.bytes.size()) == 0));
  }
  aftune::Result<std::string> canon2 = aftune::SerializeSafetensors(Refs(*back), back->metadata());
  AFTUNE_CHECK(canon2.ok() && *canon2 == *canon);
  return 0;
}
