// libFuzzer target: ParseSafetensorsIndex on arbitrary bytes.
//
// Beyond "no crash, no sanitizer report": a rejected index is one Corruption
// with a message; an accepted one names only shard file names (never a path),
// and its canonical text parses back to the same map and total size.
#include <cstdint>
#include <string>

#include "base/status.h"
#include "model/safetensors_index.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  aftune::Result<aftune::SafetensorsIndex> r = aftune::ParseSafetensorsIndex(text, "fuzz");
  if (!r.ok()) {
    AFTUNE_CHECK(r.status().code() == aftune::Status::Code::kCorruption);
    AFTUNE_CHECK(!r.status().message().empty());
    return 0;
  }
  AFTUNE_CHECK(!r->weight_map.empty());
  for (const auto& [name, file] : r->weight_map) AFTUNE_CHECK(aftune::IsShardFileName(file));
  // Tensor names may be any JSON string; the writer needs UTF-8, which the
  // strict lexer guarantees for what it accepted.
  aftune::Result<aftune::SafetensorsIndex> back =
      aftune::ParseSafetensorsIndex(aftune::SafetensorsIndexToJson(*r), "fuzz-again");
  AFTUNE_CHECK(back.ok());
  AFTUNE_CHECK(back->weight_map == r->weight_map);
  AFTUNE_CHECK(back->total_size == r->total_size);
  return 0;
}
