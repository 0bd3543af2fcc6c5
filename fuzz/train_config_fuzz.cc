// libFuzzer target: ParseTrainConfig (train/train_config.h) on arbitrary text,
// the `aftune train --config FILE` a user hands over.
//
// Beyond "no crash, no sanitizer report": a refusal is kInvalidArgument naming
// the source; an accepted config, written again by TrainConfigToJson, parses
// back to the same text (one meaning per file: no repeated key survives).
#include <cstdint>
#include <string>

#include "base/status.h"
#include "train/train_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  aftune::Result<aftune::TrainConfig> r = aftune::ParseTrainConfig(text, "fuzz");
  if (!r.ok()) {
    AFTUNE_CHECK(r.status().code() == aftune::Status::Code::kInvalidArgument);
    AFTUNE_CHECK(r.status().message().rfind("fuzz: ", 0) == 0);
    return 0;
  }
  const std::string json = aftune::TrainConfigToJson(*r);
  aftune::Result<aftune::TrainConfig> back = aftune::ParseTrainConfig(json, "roundtrip");
  AFTUNE_CHECK(back.ok());
  AFTUNE_CHECK(aftune::TrainConfigToJson(*back) == json);
  return 0;
}
