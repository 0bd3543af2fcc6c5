// The Python methods a chat template may call on its values, bound to their
// receiver:
//   str:  strip lstrip rstrip startswith endswith split rsplit replace
//         upper lower title capitalize join find count splitlines
//         isdigit isalpha isspace islower isupper format
//   dict: items keys values get copy
//   list: index count
// isalpha is ASCII-only; format takes positional "{}" / "{0}" fields only.
// Mutating methods (list.append, dict.update, ...) are what transformers'
// ImmutableSandboxedEnvironment makes of them: an Undefined that fails
// when called ("access to attribute 'append' of 'list' object is unsafe.").
#pragma once

#include <optional>
#include <string>

#include "model/jinja_value.h"

namespace aftune::jinja {

// obj.name when `name` is a method of obj's type; nullopt otherwise.
std::optional<Value> Method(const Value& obj, const std::string& name);

// str.splitlines(): on \n, \r, \r\n, \v, \f, \x1c-\x1e, \x85, U+2028, U+2029.
std::vector<std::string> PySplitLines(std::string_view s);

}  // namespace aftune::jinja
