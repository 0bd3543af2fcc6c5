// Jinja's operators, attribute and item access and iteration, with the
// semantics of Python objects in transformers' ImmutableSandboxedEnvironment.
// Errors carry Python's message (e.g. "can only concatenate str (not "int")
// to str"); the evaluator prefixes the template line.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"
#include "model/jinja_value.h"

namespace aftune::jinja {

// The longest text a render may produce, and the longest list or string an
// operator may build: a template is untrusted input.
inline constexpr size_t kMaxOutputBytes = size_t{64} << 20;

// a op b for + - * / // % ** ~ (and, or are the evaluator's: they short-circuit).
Result<Value> BinaryOp(std::string_view op, const Value& a, const Value& b);
// -a, +a.
Result<Value> UnaryMinusPlus(std::string_view op, const Value& a);
// a op b for == != < > <= >= in "not in".
Result<bool> CompareOp(std::string_view op, const Value& a, const Value& b);

// obj.name: a dict's methods (items, keys, values, get), else its key; a
// string's or list's methods bound to it. A mutating method (append, pop,
// update, ...) is Undefined whose call fails, as in the immutable sandbox.
// Undefined when absent. Errors: obj itself Undefined.
Result<Value> GetAttr(const Value& obj, const std::string& name);
// obj[key]: dict key, list or string index (negative from the end), falling
// back to GetAttr for a string key; Undefined when absent.
Result<Value> GetItem(const Value& obj, const Value& key);
// obj[start:stop:step] of a list or string (null bounds: Python's defaults).
Result<Value> Slice(const Value& obj, const Value* start, const Value* stop, const Value* step);

// The items `for x in v` visits: a list's items, a dict's keys, a string's
// code points, nothing for Undefined. Errors: any other type.
Result<List> Iterate(const Value& v);
// len(v): code points of a string, items of a list or dict, 0 for Undefined.
Result<int64_t> Length(const Value& v);

// Calls `fn` (a callable, or an Undefined whose reason becomes the error).
Result<Value> Call(const Value& fn, Args& args);

}  // namespace aftune::jinja
