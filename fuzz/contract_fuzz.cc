// libFuzzer target: ParseContract on arbitrary text.
//
// An accepted contract must serialise canonically, and its canonical text must
// parse back to the same canonical text (so the contract digest is stable).
#include <cstdint>
#include <string>

#include "base/status.h"
#include "protocol/contract.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  aftune::Result<aftune::Contract> r = aftune::ParseContract(text, "fuzz");
  if (!r.ok()) {
    AFTUNE_CHECK(!r.status().message().empty());
    return 0;
  }
  const std::string canonical = aftune::CanonicalContract(*r);
  aftune::Result<aftune::Contract> back = aftune::ParseContract(canonical, "roundtrip");
  AFTUNE_CHECK(back.ok());
  AFTUNE_CHECK(aftune::CanonicalContract(*back) == canonical);
  return 0;
}
