// libFuzzer target: ParseStrictJson (base/strict_json.h), the reader under
// every parser of outside JSON (trace lines, HTTP bodies and answers,
// contracts, configs).
//
// Beyond "no crash, no sanitizer report": a refusal is one kCorruption with
// a message; an accepted value, written again, is accepted again as the same
// value (no repeated key survives, nesting stays within the cap).
#include <cstdint>
#include <string>

#include "base/strict_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  aftune::StrictJsonOptions o;
  o.max_bytes = 1 << 16;
  o.max_depth = 16;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto j = aftune::ParseStrictJson(text, "fuzz", o);
  if (!j.ok()) {
    AFTUNE_CHECK(j.status().code() == aftune::Status::Code::kCorruption);
    AFTUNE_CHECK(j.status().message().rfind("fuzz: ", 0) == 0);
    return 0;
  }
  const std::string again = j->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  o.max_bytes = again.size();
  auto back = aftune::ParseStrictJson(again, "again", o);
  AFTUNE_CHECK(back.ok());
  // Invalid UTF-8 is replaced in `again`; otherwise the value is the same.
  if (j->dump(-1, ' ', false, nlohmann::json::error_handler_t::ignore) == again) AFTUNE_CHECK(*back == *j);
  return 0;
}
