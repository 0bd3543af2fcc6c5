// aftune's Jinja interpreter, for chat templates: what transformers'
// apply_chat_template renders, byte for byte, with its environment:
// ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
// extensions=[loopcontrols, AssistantTracker]) plus its globals
// raise_exception(msg) and strftime_now(fmt) and its tojson filter.
//
// The language covered is what the chat templates of Llama 3.x, Qwen2.5,
// Qwen3, Mistral, Zephyr/TinyLlama and SmolLM2 use (jinja_parser.h lists
// the statements, jinja_filters.h the filters and tests, jinja_methods.h the
// methods); the globals are range, namespace, dict, raise_exception and
// strftime_now. Scoping is Jinja's: a for loop's body sees the outer
// variables but its `set`s stay inside the iteration (hence namespace()).
// Any construct outside this set is an error naming its template line,
// from Parse when it is syntax (statements, filter and test names), from
// Render otherwise.
//
// A template is untrusted input: Parse bounds nesting depth, Render bounds
// output size, work and macro recursion and reports each as an error.
// A JinjaTemplate is immutable; Render may run on several threads at once.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "model/jinja_value.h"

namespace aftune {

namespace jinja {
struct Node;
}

struct JinjaRenderOptions {
  // The time strftime_now formats, in seconds since the epoch (local time,
  // as Python's datetime.now()); < 0: the system clock.
  int64_t now_unix = -1;
};

struct JinjaRendered {
  std::string text;
  // Byte ranges [begin, end) of `text` written inside {% generation %}
  // blocks (transformers' assistant masks), in order.
  std::vector<std::pair<size_t, size_t>> generation_spans;
};

class JinjaTemplate {
 public:
  // Errors (InvalidArgument) start "template line N: ".
  static Result<JinjaTemplate> Parse(std::string_view source);

  // Renders with `variables` as the template's top-level names (they shadow
  // the globals). Errors (InvalidArgument) start "template line N: " and
  // carry Python's message, e.g. raise_exception's text or
  // "'dict object' has no attribute 'x'".
  Result<JinjaRendered> Render(const jinja::Dict& variables, const JinjaRenderOptions& options = {}) const;

 private:
  std::shared_ptr<const std::vector<std::unique_ptr<jinja::Node>>> body_;
};

}  // namespace aftune
