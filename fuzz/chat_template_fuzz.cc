// libFuzzer target: the Jinja chat-template interpreter on arbitrary template
// text, rendered over a fixed conversation.
//
// Parse and Render must return a Status for every input (no crash, no
// unbounded work: the interpreter's own bounds on nesting, output, steps and
// macro recursion apply); every error names a template line; a render is
// deterministic (two renders give the same bytes).
#include <cstdint>
#include <string>

#include "base/status.h"
#include "model/jinja_template.h"

namespace {

aftune::jinja::Dict Variables() {
  using aftune::jinja::Value;
  auto msg = [](const char* role, const char* content) {
    return Value::MakeDict({{"role", Value::String(role)}, {"content", Value::String(content)}});
  };
  return {{"messages", Value::MakeList({msg("system", "Be brief."), msg("user", "Hi \xC3\xA9"),
                                        msg("assistant", "<think>x</think>Yo"), msg("user", "2+2?")})},
          {"tools", Value::None()},
          {"documents", Value::None()},
          {"add_generation_prompt", Value::Bool(true)},
          {"bos_token", Value::String("<s>")},
          {"eos_token", Value::String("</s>")}};
}

void CheckLine(const aftune::Status& st) { AFTUNE_CHECK(st.message().rfind("template line ", 0) == 0); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  aftune::Result<aftune::JinjaTemplate> t = aftune::JinjaTemplate::Parse(text);
  if (!t.ok()) {
    CheckLine(t.status());
    return 0;
  }
  static const aftune::jinja::Dict vars = Variables();
  aftune::JinjaRenderOptions opt;
  opt.now_unix = 0;
  aftune::Result<aftune::JinjaRendered> a = t->Render(vars, opt);
  aftune::Result<aftune::JinjaRendered> b = t->Render(vars, opt);
  AFTUNE_CHECK(a.ok() == b.ok());
  if (!a.ok()) {
    CheckLine(a.status());
    AFTUNE_CHECK(a.status().message() == b.status().message());
    return 0;
  }
  AFTUNE_CHECK(a->text == b->text);
  AFTUNE_CHECK(a->generation_spans == b->generation_spans);
  return 0;
}
