// libFuzzer target: LoadAdapterDir (model/adapter_dir.h) on an arbitrary
// adapter_config.json, the file a user hands over with `--adapter DIR`. The
// input is written to a private directory holding no adapter_model.safetensors,
// so the load never succeeds: what is fuzzed is the config's reading, which
// comes first.
//
// Beyond "no crash, no sanitizer report": every refusal names the config file
// or the missing weights file.
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <string>

#include "base/file.h"
#include "base/status.h"
#include "model/adapter_dir.h"
#include "model/model_init.h"

namespace {

const std::string& Dir() {
  static const std::string dir = [] {
    std::string d = (std::filesystem::temp_directory_path() / ("aftune-adapter-fuzz-" + std::to_string(getpid())))
                        .string();
    std::filesystem::create_directories(d);
    return d;
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const aftune::ModelConfig cfg = aftune::PresetConfig("tiny").value();
  const std::string config = Dir() + "/adapter_config.json";
  AFTUNE_CHECK(aftune::WriteFileAtomic(config, std::string(reinterpret_cast<const char*>(data), size)).ok());
  aftune::Result<aftune::LoadedAdapter> r = aftune::LoadAdapterDir(Dir(), cfg);
  AFTUNE_CHECK(!r.ok());
  const std::string msg = r.status().message();
  AFTUNE_CHECK(msg.rfind(config, 0) == 0 || msg.find("adapter_model.safetensors") != std::string::npos);
  return 0;
}
