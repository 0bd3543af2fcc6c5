// Jinja's builtin filters and tests: see jinja_filters.h.
#include "model/jinja_filters.h"

#include <cstdlib>
#include <string>

#include "model/jinja_methods.h"
#include "model/jinja_ops.h"
#include "model/jinja_text.h"

namespace aftune::jinja {

namespace {

using K = Value::Kind;
using Bound = std::vector<std::optional<Value>>;

Status TypeError(const std::string& m) { return Status::InvalidArgument(m); }

Value Or(const std::optional<Value>& v, Value dflt) { return v ? *v : std::move(dflt); }

// Jinja's attribute getter for map/selectattr/join/unique: "a.b.0" looks up
// each part as an item (ints for digits), then as an attribute.
Result<Value> Attribute(const Value& item, const std::string& path) {
  Value v = item;
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    Value key = !part.empty() && part.find_first_not_of("0123456789") == std::string::npos && part.size() < 18
                    ? Value::Int(std::strtoll(part.c_str(), nullptr, 10))
                    : Value::String(part);
    AFTUNE_ASSIGN_OR_RETURN(v, GetItem(v, key));
    if (dot == std::string::npos) return v;
    start = dot + 1;
  }
}

Result<std::string> AttrName(const std::optional<Value>& v, const char* what) {
  if (!v || !v->is_string()) return TypeError(std::string(what) + " needs an attribute name (a string)");
  return v->as_string();
}

// Jinja's int(): str via Python's int(), else int(float(x)), else the default.
Value ToInt(const Value& v, const Value& dflt) {
  switch (v.kind()) {
    case K::kBool:
    case K::kInt:
      return Value::Int(v.as_int());
    case K::kFloat: {
      double d = v.as_float();
      if (!(d > -9.2e18 && d < 9.2e18)) return dflt;
      return Value::Int(static_cast<int64_t>(d));
    }
    case K::kString: {
      std::string s = PyStrip(v.as_string(), "", true, true, true);
      std::string digits;
      for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '_' && i > 0 && i + 1 < s.size() && std::isdigit(static_cast<unsigned char>(s[i - 1])) &&
            std::isdigit(static_cast<unsigned char>(s[i + 1]))) {
          continue;
        }
        digits += s[i];
      }
      if (digits.empty()) return dflt;
      char* end = nullptr;
      errno = 0;
      long long i = std::strtoll(digits.c_str(), &end, 10);
      if (end && *end == 0 && errno == 0 && !std::isspace(static_cast<unsigned char>(digits[0]))) return Value::Int(i);
      double d = std::strtod(digits.c_str(), &end);
      if (end && *end == 0 && d > -9.2e18 && d < 9.2e18) return Value::Int(static_cast<int64_t>(d));
      return dflt;
    }
    default:
      return dflt;
  }
}

Value ToFloat(const Value& v, const Value& dflt) {
  if (v.is_number()) return Value::Float(v.as_float());
  if (v.is_string()) {
    std::string s = PyStrip(v.as_string(), "", true, true, true);
    char* end = nullptr;
    double d = std::strtod(s.c_str(), &end);
    if (!s.empty() && end && *end == 0) return Value::Float(d);
  }
  return dflt;
}

// Jinja's title filter: each word (after whitespace, '-', '(', '{', '[', '<')
// gets its first character upper-cased and the rest lower-cased.
std::string JinjaTitle(std::string_view s) {
  std::u32string u = DecodeUtf8(s);
  std::string out;
  bool word_start = true;
  for (char32_t c : u) {
    bool delim = IsPySpace(c) || c == '-' || c == '(' || c == '{' || c == '[' || c == '<';
    std::string one = EncodeUtf8(std::u32string(1, c));
    out += delim ? one : word_start ? PyUpper(one) : PyLower(one);
    word_start = delim;
  }
  return out;
}

// Jinja's indent filter (3.1): lines after the first (and the first too with
// `first`) get `width` spaces or the `width` string; blank lines only with `blank`.
Result<Value> Indent(const Value& input, Args& args) {
  AFTUNE_ASSIGN_OR_RETURN(Bound a, BindArgs(args, {"width", "first", "blank"}, "indent"));
  std::string ind(4, ' ');
  if (a[0]) {
    if (a[0]->is_string()) {
      ind = a[0]->as_string();
    } else if (a[0]->kind() == K::kInt) {
      if (a[0]->as_int() > 1024) return TypeError("indent width too large");
      ind = std::string(std::max<int64_t>(a[0]->as_int(), 0), ' ');
    } else {
      return TypeError("indent width must be an int or a string");
    }
  }
  bool first = a[1] && a[1]->Truthy(), blank = a[2] && a[2]->Truthy();
  std::vector<std::string> lines = PySplitLines(input.Str() + "\n");
  std::string rv;
  if (blank) {
    for (size_t i = 0; i < lines.size(); ++i) rv += (i ? "\n" + ind : "") + lines[i];
  } else {
    rv = lines.empty() ? "" : lines[0];
    for (size_t i = 1; i < lines.size(); ++i) rv += "\n" + (lines[i].empty() ? "" : ind) + lines[i];
  }
  if (first) rv = ind + rv;
  return Value::String(std::move(rv));
}

Result<Value> ToJson(const Value& input, Args& args) {
  AFTUNE_ASSIGN_OR_RETURN(Bound a, BindArgs(args, {"ensure_ascii", "indent", "separators", "sort_keys"}, "tojson"));
  JsonDumpOptions o;
  o.ensure_ascii = a[0] && a[0]->Truthy();
  if (a[1] && !a[1]->is_none()) {
    o.has_indent = true;
    if (a[1]->is_string()) {
      o.indent_text = a[1]->as_string();
    } else if (a[1]->kind() == K::kInt && a[1]->as_int() <= 1024) {
      o.indent = a[1]->as_int();
    } else {
      return TypeError("tojson indent must be an int (at most 1024), a string or None");
    }
  }
  if (a[2] && !a[2]->is_none()) {
    if (!a[2]->is_list() || a[2]->as_list().size() != 2 || !a[2]->as_list()[0].is_string() ||
        !a[2]->as_list()[1].is_string()) {
      return TypeError("tojson separators must be a pair of strings");
    }
    o.has_separators = true;
    o.item_separator = a[2]->as_list()[0].as_string();
    o.key_separator = a[2]->as_list()[1].as_string();
  }
  o.sort_keys = a[3] && a[3]->Truthy();
  AFTUNE_ASSIGN_OR_RETURN(std::string s, JsonDumps(input, o));
  return Value::String(std::move(s));
}

// select / reject / selectattr / rejectattr.
Result<Value> Select(const Value& input, Args& args, bool by_attr, bool keep) {
  const char* what = by_attr ? (keep ? "selectattr" : "rejectattr") : (keep ? "select" : "reject");
  std::string attr;
  size_t next = 0;
  if (by_attr) {
    if (args.positional.empty()) return TypeError(std::string(what) + " needs an attribute name");
    AFTUNE_ASSIGN_OR_RETURN(attr, AttrName(args.positional[0], what));
    next = 1;
  }
  std::string test;
  Args test_args;
  if (args.positional.size() > next) {
    if (!args.positional[next].is_string()) return TypeError(std::string(what) + " test name must be a string");
    test = args.positional[next].as_string();
    if (!HasTest(test)) return TypeError("No test named '" + test + "'");
    test_args.positional.assign(args.positional.begin() + next + 1, args.positional.end());
    test_args.keyword = args.keyword;
  } else if (!args.keyword.empty()) {
    return TypeError(std::string(what) + " got an unexpected keyword argument '" + args.keyword[0].first + "'");
  }
  AFTUNE_ASSIGN_OR_RETURN(List items, Iterate(input));
  List out;
  for (const Value& item : items) {
    Value v = item;
    if (by_attr) {
      AFTUNE_ASSIGN_OR_RETURN(v, Attribute(item, attr));
    }
    bool pass = true;
    if (test.empty()) {
      pass = v.Truthy();
    } else {
      Args copy = test_args;
      AFTUNE_ASSIGN_OR_RETURN(pass, ApplyTest(test, v, copy));
    }
    if (pass == keep) out.push_back(item);
  }
  return Value::MakeList(std::move(out));
}

Result<Value> Map(const Value& input, Args& args) {
  AFTUNE_ASSIGN_OR_RETURN(List items, Iterate(input));
  List out;
  if (args.positional.empty()) {
    AFTUNE_ASSIGN_OR_RETURN(Bound a, BindArgs(args, {"attribute", "default"}, "map"));
    AFTUNE_ASSIGN_OR_RETURN(std::string attr, AttrName(a[0], "map"));
    for (const Value& item : items) {
      AFTUNE_ASSIGN_OR_RETURN(Value v, Attribute(item, attr));
      out.push_back(v.is_undefined() && a[1] ? *a[1] : v);
    }
    return Value::MakeList(std::move(out));
  }
  if (!args.positional[0].is_string()) return TypeError("map needs a filter name or attribute=");
  std::string filter = args.positional[0].as_string();
  if (!HasFilter(filter)) return TypeError("No filter named '" + filter + "'");
  Args rest;
  rest.positional.assign(args.positional.begin() + 1, args.positional.end());
  rest.keyword = args.keyword;
  for (const Value& item : items) {
    Args copy = rest;
    AFTUNE_ASSIGN_OR_RETURN(Value v, ApplyFilter(filter, item, copy));
    out.push_back(std::move(v));
  }
  return Value::MakeList(std::move(out));
}

Result<Value> Join(const Value& input, Args& args) {
  AFTUNE_ASSIGN_OR_RETURN(Bound a, BindArgs(args, {"d", "attribute"}, "join"));
  std::string sep = a[0] ? a[0]->Str() : "";
  AFTUNE_ASSIGN_OR_RETURN(List items, Iterate(input));
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    Value v = items[i];
    if (a[1] && !a[1]->is_none()) {
      AFTUNE_ASSIGN_OR_RETURN(std::string attr, AttrName(a[1], "join"));
      AFTUNE_ASSIGN_OR_RETURN(v, Attribute(v, attr));
    }
    if (i) out += sep;
    out += v.Str();
    if (out.size() > kMaxOutputBytes) return TypeError("join result too long");
  }
  return Value::String(std::move(out));
}

Result<Value> Unique(const Value& input, Args& args) {
  AFTUNE_ASSIGN_OR_RETURN(Bound a, BindArgs(args, {"case_sensitive", "attribute"}, "unique"));
  bool case_sensitive = a[0] && a[0]->Truthy();
  AFTUNE_ASSIGN_OR_RETURN(List items, Iterate(input));
  List out, seen;
  for (const Value& item : items) {
    Value key = item;
    if (a[1] && !a[1]->is_none()) {
      AFTUNE_ASSIGN_OR_RETURN(std::string attr, AttrName(a[1], "unique"));
      AFTUNE_ASSIGN_OR_RETURN(key, Attribute(item, attr));
    }
    if (!case_sensitive && key.is_string()) key = Value::String(PyLower(key.as_string()));
    bool dup = false;
    for (const Value& s : seen) dup = dup || Equal(s, key);
    if (dup) continue;
    seen.push_back(key);
    out.push_back(item);
  }
  return Value::MakeList(std::move(out));
}

Result<Value> FirstOrLast(const Value& input, bool first) {
  AFTUNE_ASSIGN_OR_RETURN(List items, Iterate(input));
  if (items.empty())
    return Value::Undefined(std::string("No ") + (first ? "first" : "last") + " item, sequence was empty.");
  return first ? items.front() : items.back();
}

Result<Value> Filter(std::string_view name, const Value& in, Args& args) {
  auto no_args = [&](std::string_view what) { return BindArgs(args, {}, std::string(what)).status(); };
  if (name == "tojson") return ToJson(in, args);
  if (name == "trim") {
    AFTUNE_ASSIGN_OR_RETURN(Bound a, BindArgs(args, {"chars"}, "trim"));
    bool ws = !a[0] || a[0]->is_none();
    return Value::String(PyStrip(in.Str(), ws ? "" : a[0]->Str(), ws, true, true));
  }
  if (name == "length" || name == "count") {
    AFTUNE_RETURN_IF_ERROR(no_args("length"));
    AFTUNE_ASSIGN_OR_RETURN(int64_t n, Length(in));
    return Value::Int(n);
  }
  if (name == "default" || name == "d") {
    AFTUNE_ASSIGN_OR_RETURN(Bound a, BindArgs(args, {"default_value", "boolean"}, "default"));
    bool use = in.is_undefined() || (a[1] && a[1]->Truthy() && !in.Truthy());
    return use ? Or(a[0], Value::String("")) : in;
  }
  if (name == "upper" || name == "lower" || name == "capitalize" || name == "title" || name == "string" ||
      name == "safe") {
    AFTUNE_RETURN_IF_ERROR(no_args(name));
    if (name == "safe") return in;
    std::string s = in.Str();
    return Value::String(name == "upper"        ? PyUpper(s)
                         : name == "lower"      ? PyLower(s)
                         : name == "capitalize" ? PyCapitalize(s)
                         : name == "title"      ? JinjaTitle(s)
                                                : s);
  }
  if (name == "join") return Join(in, args);
  if (name == "replace") {
    AFTUNE_ASSIGN_OR_RETURN(Bound a, BindArgs(args, {"old", "new", "count"}, "replace"));
    if (!a[0] || !a[1]) return TypeError("replace needs old and new");
    long count = a[2] && !a[2]->is_none() ? static_cast<long>(a[2]->as_int()) : -1;
    std::string out = PyReplace(in.Str(), a[0]->Str(), a[1]->Str(), count);
    if (out.size() > kMaxOutputBytes) return TypeError("replace result too long");
    return Value::String(std::move(out));
  }
  if (name == "list") {
    AFTUNE_RETURN_IF_ERROR(no_args("list"));
    AFTUNE_ASSIGN_OR_RETURN(List items, Iterate(in));
    return Value::MakeList(std::move(items));
  }
  if (name == "first" || name == "last") {
    AFTUNE_RETURN_IF_ERROR(no_args(name));
    return FirstOrLast(in, name == "first");
  }
  if (name == "reverse") {
    AFTUNE_RETURN_IF_ERROR(no_args("reverse"));
    if (in.is_string()) {
      std::u32string u = DecodeUtf8(in.as_string());
      return Value::String(EncodeUtf8(std::u32string(u.rbegin(), u.rend())));
    }
    AFTUNE_ASSIGN_OR_RETURN(List items, Iterate(in));
    return Value::MakeList(List(items.rbegin(), items.rend()));
  }
  if (name == "items") {
    AFTUNE_RETURN_IF_ERROR(no_args("items"));
    if (in.is_undefined()) return Value::MakeList({});
    if (!in.is_dict()) return TypeError("Can only get item pairs from a mapping.");
    List out;
    for (const auto& [k, v] : in.as_dict()) out.push_back(Value::MakeList({Value::String(k), v}));
    return Value::MakeList(std::move(out));
  }
  if (name == "select" || name == "reject") return Select(in, args, false, name == "select");
  if (name == "selectattr" || name == "rejectattr") return Select(in, args, true, name == "selectattr");
  if (name == "map") return Map(in, args);
  if (name == "unique") return Unique(in, args);
  if (name == "int") {
    AFTUNE_ASSIGN_OR_RETURN(Bound a, BindArgs(args, {"default", "base"}, "int"));
    if (a[1] && !(a[1]->kind() == K::kInt && a[1]->as_int() == 10))
      return TypeError("int filter: only base 10 is supported");
    return ToInt(in, Or(a[0], Value::Int(0)));
  }
  if (name == "float") {
    AFTUNE_ASSIGN_OR_RETURN(Bound a, BindArgs(args, {"default"}, "float"));
    return ToFloat(in, Or(a[0], Value::Float(0)));
  }
  if (name == "abs") {
    AFTUNE_RETURN_IF_ERROR(no_args("abs"));
    if (!in.is_number()) return TypeError("bad operand type for abs(): '" + in.TypeName() + "'");
    if (in.kind() == K::kFloat) return Value::Float(in.as_float() < 0 ? -in.as_float() : in.as_float());
    return UnaryMinusPlus(in.as_int() < 0 ? "-" : "+", in);
  }
  if (name == "indent") return Indent(in, args);
  return TypeError("No filter named '" + std::string(name) + "'");
}

constexpr std::string_view kFilters[] = {
    "abs",  "capitalize", "count",      "d",      "default", "first",  "float",  "indent",     "int",     "items",
    "join", "last",       "length",     "list",   "lower",   "map",    "reject", "rejectattr", "replace", "reverse",
    "safe", "select",     "selectattr", "string", "title",   "tojson", "trim",   "unique",     "upper"};

constexpr std::string_view kTests[] = {"boolean",     "callable", "defined",  "divisibleby", "eq",   "equalto",
                                       "escaped",     "even",     "false",    "float",       "ge",   "gt",
                                       "greaterthan", "in",       "integer",  "iterable",    "le",   "lower",
                                       "lt",          "lessthan", "mapping",  "ne",          "none", "number",
                                       "odd",         "sameas",   "sequence", "string",      "true", "undefined",
                                       "upper",       "==",       "!=",       "<",           "<=",   ">",
                                       ">="};

}  // namespace

bool HasFilter(std::string_view name) {
  for (std::string_view f : kFilters) {
    if (f == name) return true;
  }
  return false;
}

bool HasTest(std::string_view name) {
  for (std::string_view t : kTests) {
    if (t == name) return true;
  }
  return false;
}

Result<Value> ApplyFilter(std::string_view name, const Value& input, Args& args) { return Filter(name, input, args); }

Result<bool> ApplyTest(std::string_view name, const Value& v, Args& args) {
  const std::string what = "test '" + std::string(name) + "'";
  // Tests that compare with one argument.
  static constexpr std::pair<std::string_view, std::string_view> kCompare[] = {
      {"eq", "=="},         {"equalto", "=="}, {"==", "=="}, {"ne", "!="}, {"!=", "!="}, {"lt", "<"},
      {"lessthan", "<"},    {"<", "<"},        {"le", "<="}, {"<=", "<="}, {"gt", ">"},  {">", ">"},
      {"greaterthan", ">"}, {"ge", ">="},      {">=", ">="}, {"in", "in"}};
  for (auto [test, op] : kCompare) {
    if (test != name) continue;
    AFTUNE_ASSIGN_OR_RETURN(Bound a, BindArgs(args, {"other"}, what));
    if (!a[0]) return TypeError(what + " needs an argument");
    return CompareOp(op, v, *a[0]);
  }
  if (name == "divisibleby") {
    AFTUNE_ASSIGN_OR_RETURN(Bound a, BindArgs(args, {"num"}, what));
    if (!a[0]) return TypeError(what + " needs an argument");
    AFTUNE_ASSIGN_OR_RETURN(Value m, BinaryOp("%", v, *a[0]));
    return Equal(m, Value::Int(0));
  }
  if (name == "sameas") {
    AFTUNE_ASSIGN_OR_RETURN(Bound a, BindArgs(args, {"other"}, what));
    if (!a[0]) return TypeError(what + " needs an argument");
    return v.kind() == a[0]->kind() && Equal(v, *a[0]);
  }
  AFTUNE_RETURN_IF_ERROR(BindArgs(args, {}, what).status());
  if (name == "defined") return !v.is_undefined();
  if (name == "undefined") return v.is_undefined();
  if (name == "none") return v.is_none();
  if (name == "boolean") return v.kind() == K::kBool;
  if (name == "true") return v.kind() == K::kBool && v.as_int() == 1;
  if (name == "false") return v.kind() == K::kBool && v.as_int() == 0;
  if (name == "integer") return v.kind() == K::kInt;
  if (name == "float") return v.kind() == K::kFloat;
  if (name == "number") return v.is_number();
  if (name == "string") return v.is_string();
  if (name == "mapping") return v.is_dict();
  if (name == "iterable" || name == "sequence") {
    return v.is_undefined() || v.is_string() || v.is_list() || v.is_dict();
  }
  if (name == "callable") return v.kind() == K::kCallable;
  if (name == "escaped") return false;
  if (name == "odd" || name == "even") {
    AFTUNE_ASSIGN_OR_RETURN(Value m, BinaryOp("%", v, Value::Int(2)));
    return Equal(m, Value::Int(name == "odd" ? 1 : 0));
  }
  if (name == "lower" || name == "upper") {
    std::string s = v.Str();
    bool cased = PyUpper(s) != PyLower(s);
    return cased && (name == "lower" ? PyLower(s) == s : PyUpper(s) == s);
  }
  return TypeError("No test named '" + std::string(name) + "'");
}

}  // namespace aftune::jinja
