// libFuzzer target: ParseCellOpening (protocol/opening.h) on arbitrary bytes —
// what an auditor receives from a provider it does not trust.
//
// Beyond "no crash, no sanitizer report": a rejected input is one
// kCorruption with a message; an accepted opening serializes again, and that
// file parses back to the same opening and is a fixed point.
#include <cstdint>
#include <string>

#include "protocol/opening.h"

namespace {

bool SameTensors(const std::vector<std::vector<aftune::Tensor>>& a, const std::vector<std::vector<aftune::Tensor>>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].size() != b[i].size()) return false;
    for (size_t m = 0; m < a[i].size(); ++m)
      if (!a[i][m].BitEqual(b[i][m])) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto r = aftune::ParseCellOpening(std::string(reinterpret_cast<const char*>(data), size), "fuzz");
  if (!r.ok()) {
    AFTUNE_CHECK(r.status().code() == aftune::Status::Code::kCorruption);
    AFTUNE_CHECK(!r.status().message().empty());
    return 0;
  }
  auto bytes = aftune::SerializeCellOpening(*r);
  AFTUNE_CHECK(bytes.ok());
  auto back = aftune::ParseCellOpening(*bytes, "again");
  AFTUNE_CHECK(back.ok());
  AFTUNE_CHECK(back->block == r->block && back->step_block == r->step_block);
  AFTUNE_CHECK(back->lines.size() == r->lines.size());
  for (size_t i = 0; i < r->lines.size(); ++i)
    AFTUNE_CHECK(back->lines[i].index == r->lines[i].index && back->lines[i].text == r->lines[i].text &&
                 back->lines[i].proof == r->lines[i].proof);
  AFTUNE_CHECK(back->start_state.size() == r->start_state.size());
  for (const auto& [name, t] : r->start_state) AFTUNE_CHECK(back->start_state.at(name).BitEqual(t));
  AFTUNE_CHECK(SameTensors(back->inputs, r->inputs) && SameTensors(back->upstream_gradients, r->upstream_gradients));
  auto again = aftune::SerializeCellOpening(*back);
  AFTUNE_CHECK(again.ok() && *again == *bytes);
  return 0;
}
