// Jinja's builtin filters and tests, as Jinja 3.1 defines them, with
// transformers' tojson in place of Jinja's (no HTML escaping; indent,
// separators, sort_keys as json.dumps takes them).
//
// Filters: abs capitalize count d default first float indent int items join
//   last length list lower map reject rejectattr replace reverse safe select
//   selectattr string title tojson trim unique upper wordcount
// Tests: boolean callable defined divisibleby eq equalto escaped even false
//   float ge gt greaterthan in integer iterable le lower lt lessthan mapping
//   ne none number odd sameas sequence string true undefined upper == != < <= > >=
#pragma once

#include <string_view>

#include "base/status.h"
#include "model/jinja_value.h"

namespace aftune::jinja {

bool HasFilter(std::string_view name);
bool HasTest(std::string_view name);

// REQUIRES: HasFilter(name) / HasTest(name).
Result<Value> ApplyFilter(std::string_view name, const Value& input, Args& args);
Result<bool> ApplyTest(std::string_view name, const Value& input, Args& args);

}  // namespace aftune::jinja
