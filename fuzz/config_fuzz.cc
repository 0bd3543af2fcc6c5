// libFuzzer target: ParseModelConfig on arbitrary text.
//
// An accepted config must be valid, have a parameter count (no overflow
// abort), and survive ModelConfigToJson -> ParseModelConfig unchanged.
#include <cstdint>
#include <string>

#include "base/status.h"
#include "model/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  aftune::Result<aftune::ModelConfig> r = aftune::ParseModelConfig(text, "fuzz");
  if (!r.ok()) {
    AFTUNE_CHECK(!r.status().message().empty());
    return 0;
  }
  AFTUNE_CHECK(r->Validate().ok());
  AFTUNE_CHECK(r->NumParameters() > 0);
  const std::string json = aftune::ModelConfigToJson(*r);
  aftune::Result<aftune::ModelConfig> back = aftune::ParseModelConfig(json, "roundtrip");
  AFTUNE_CHECK(back.ok());
  AFTUNE_CHECK(aftune::ModelConfigToJson(*back) == json);
  AFTUNE_CHECK(back->NumParameters() == r->NumParameters());
  return 0;
}
