// libFuzzer target: a conversation file as `aftune chat render --messages
// FILE` reads it (src/cli/cmd_chat.cc): the strict reader keeping key order
// (ParseStrictJsonAs<nlohmann::ordered_json>), the value handed to the Jinja
// interpreter (jinja::Value::FromJson) and rendered by a fixed chat template.
// strict_json_fuzz covers the unordered reader; this one the ordered reader
// that cmd_chat and dataset `messages` lines under a model's template use.
//
// Beyond "no crash, no sanitizer report": a refusal names the source; an
// accepted value, written again, is read again as the same value, in the
// same key order; a render is deterministic.
#include <cstdint>
#include <string>

#include "base/status.h"
#include "base/strict_json.h"
#include "model/jinja_template.h"

namespace {

const aftune::JinjaTemplate& Template() {
  static const aftune::JinjaTemplate t =
      aftune::JinjaTemplate::Parse("{% for m in messages %}<{{ m.role }}>{{ m.content }}"
                                   "{% if m.tool_calls %}{{ m.tool_calls | tojson }}{% endif %}|{% endfor %}")
          .value();
  return t;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  aftune::StrictJsonOptions o;
  o.max_bytes = 1 << 16;
  o.max_depth = 16;
  o.code = aftune::Status::Code::kInvalidArgument;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto j = aftune::ParseStrictJsonAs<nlohmann::ordered_json>(text, "fuzz", o);
  if (!j.ok()) {
    AFTUNE_CHECK(j.status().code() == aftune::Status::Code::kInvalidArgument);
    AFTUNE_CHECK(j.status().message().rfind("fuzz: ", 0) == 0);
    return 0;
  }
  const std::string again = j->dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  o.max_bytes = again.size();
  auto back = aftune::ParseStrictJsonAs<nlohmann::ordered_json>(again, "again", o);
  AFTUNE_CHECK(back.ok());
  if (j->dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::ignore) == again) {
    AFTUNE_CHECK(back->dump() == j->dump());  // same value, same key order
  }
  if (!j->is_array()) return 0;
  aftune::jinja::Dict vars = {{"messages", aftune::jinja::Value::FromJson(*j)}};
  auto first = Template().Render(vars);
  auto second = Template().Render(vars);
  AFTUNE_CHECK(first.ok() == second.ok());
  if (first.ok()) AFTUNE_CHECK(first->text == second->text);
  return 0;
}
