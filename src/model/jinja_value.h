// The values of aftune's Jinja interpreter (model/jinja_template.h), with the
// Python semantics that Jinja inherits: a chat template rendered by
// transformers runs on Python objects, so truthiness, equality, str() and
// repr() here are Python's for the types a template meets: None, bool, int,
// float, str, list, dict, plus Jinja's Undefined, namespace() objects and
// callables (macros, builtin functions, bound methods).
//
// Strings hold UTF-8; operations Python defines per code point (len, index,
// slices) work on code points. Lists and dicts are shared, as Python's are:
// copying a Value copies a reference. Only namespace() objects are ever
// mutated (`{% set ns.x = ... %}`), as in transformers' immutable sandbox.
// Dict keys are strings (chat messages are JSON objects); a dict keeps its
// insertion order, as Python's does.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace aftune::jinja {

class Value;
using List = std::vector<Value>;
using Dict = std::vector<std::pair<std::string, Value>>;

// The arguments of a call: positional, then keyword (name, value) in order.
struct Args {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;
};
using Function = std::function<Result<Value>(Args&)>;

class Value {
 public:
  enum class Kind { kUndefined, kNone, kBool, kInt, kFloat, kString, kList, kDict, kNamespace, kCallable };

  Value() = default;  // Undefined
  static Value Undefined(std::string why) {
    Value v;
    v.str_ = std::move(why);
    return v;
  }
  static Value None() { return Value(Kind::kNone); }
  static Value Bool(bool b) {
    Value v(Kind::kBool);
    v.int_ = b;
    return v;
  }
  static Value Int(int64_t i) {
    Value v(Kind::kInt);
    v.int_ = i;
    return v;
  }
  static Value Float(double f) {
    Value v(Kind::kFloat);
    v.float_ = f;
    return v;
  }
  static Value String(std::string s) {
    Value v(Kind::kString);
    v.str_ = std::move(s);
    return v;
  }
  static Value MakeList(List items);
  static Value MakeDict(Dict items);
  static Value MakeNamespace(Dict items);
  // `name` is how errors and repr() name the callable.
  static Value Callable(std::string name, Function fn);
  // A JSON document as Python's json.loads gives it (objects keep their
  // key order, hence ordered_json).
  static Value FromJson(const nlohmann::ordered_json& j);

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::kUndefined; }
  bool is_none() const { return kind_ == Kind::kNone; }
  bool is_string() const { return kind_ == Kind::kString; }
  bool is_list() const { return kind_ == Kind::kList; }
  bool is_dict() const { return kind_ == Kind::kDict; }
  // int, float or bool (Python's bool is an int).
  bool is_number() const { return kind_ == Kind::kInt || kind_ == Kind::kFloat || kind_ == Kind::kBool; }

  // REQUIRES: the matching kind (bool for as_int: its 0/1).
  int64_t as_int() const { return int_; }
  double as_float() const { return kind_ == Kind::kFloat ? float_ : static_cast<double>(int_); }
  const std::string& as_string() const { return str_; }
  const List& as_list() const { return *list_; }
  const Dict& as_dict() const { return *dict_; }  // also a namespace's attributes
  Dict& namespace_attrs() const { return *dict_; }
  const std::string& callable_name() const { return str_; }
  const Function& function() const { return *fn_; }
  // Why an undefined value is undefined, e.g. "'x' is undefined".
  const std::string& undefined_reason() const { return str_; }

  // The value of `key` in a dict or namespace, or nullptr.
  const Value* Find(std::string_view key) const;

  // Python's bool(x); Undefined is false.
  bool Truthy() const;
  // Python's str(x) (Undefined gives ""), and repr(x).
  std::string Str() const;
  std::string Repr() const;
  // Python's type name, for error messages: "str", "dict object", ...
  std::string TypeName() const;

 private:
  explicit Value(Kind k) : kind_(k) {}
  Kind kind_ = Kind::kUndefined;
  int64_t int_ = 0;
  double float_ = 0;
  std::string str_;
  std::shared_ptr<List> list_;
  std::shared_ptr<Dict> dict_;
  std::shared_ptr<Function> fn_;
};

// Binds a call's arguments to `params` as Python binds them to a
// function's parameters: positional first, then by keyword. Unbound
// parameters stay null. Errors (naming `what`): too many positional
// arguments, an unknown keyword, a parameter given twice.
Result<std::vector<std::optional<Value>>> BindArgs(const Args& args, std::initializer_list<std::string_view> params,
                                                   const std::string& what);

// Python's ==: numbers by value (True == 1), strings, lists and dicts
// element-wise; Undefined equals only Undefined.
bool Equal(const Value& a, const Value& b);

// Python's repr() of a float: the shortest digits that round-trip, fixed
// notation for exponents in [-4, 16), else d.ddde+XX ("1e-05", "1.5", "1e+20").
std::string PyFloatRepr(double d);
// Python's repr() of a str: quoted with ' (or " when the text holds ' and
// no "), backslash escapes for \\, the quote, \n \r \t and control bytes.
std::string PyStrRepr(std::string_view s);

// transformers' tojson filter: json.dumps(x, ensure_ascii=False,
// indent=indent, separators=separators, sort_keys=sort_keys). `indent` < 0:
// none (one line); `indent_text` overrides it when indent is a string. The
// separators default to (", ", ": "), or (",", ": ") with an indent.
struct JsonDumpOptions {
  int64_t indent = -1;
  std::string indent_text;  // used when non-empty
  bool has_indent = false;
  std::string item_separator, key_separator;
  bool has_separators = false;
  bool sort_keys = false;
  bool ensure_ascii = false;  // non-ASCII as \uXXXX escapes (surrogate pairs above U+FFFF)
};
// Errors: a value JSON cannot hold (Undefined, a callable, a namespace),
// named as Python's json.dumps names it.
Result<std::string> JsonDumps(const Value& v, const JsonDumpOptions& opt);

}  // namespace aftune::jinja
