// Python methods on Jinja values: see jinja_methods.h.
#include "model/jinja_methods.h"

#include <array>
#include <string_view>

#include "model/jinja_ops.h"
#include "model/jinja_text.h"

namespace aftune::jinja {

namespace {

Status TypeError(const std::string& what) { return Status::InvalidArgument(what); }

// The text of an optional str argument; `none_ok`: None counts as absent.
Result<std::optional<std::string>> OptString(const std::optional<Value>& v, const std::string& what) {
  if (!v || v->is_none()) return std::optional<std::string>();
  if (!v->is_string()) return TypeError(what + " must be str or None, not " + v->TypeName());
  return std::optional<std::string>(v->as_string());
}

Result<long> OptInt(const std::optional<Value>& v, long dflt, const std::string& what) {
  if (!v || v->is_none()) return dflt;
  if (v->kind() != Value::Kind::kInt && v->kind() != Value::Kind::kBool) {
    return TypeError(what + " must be an integer, not " + v->TypeName());
  }
  return static_cast<long>(v->as_int());
}

Value StrList(std::vector<std::string> parts) {
  List l;
  for (auto& p : parts) l.push_back(Value::String(std::move(p)));
  return Value::MakeList(std::move(l));
}

// The code point index of byte offset `at` in `s`.
int64_t CodePointIndex(std::string_view s, size_t at) {
  int64_t n = 0;
  for (size_t i = 0; i < at; ++i) n += (static_cast<unsigned char>(s[i]) & 0xc0) != 0x80;
  return n;
}

template <typename Pred>
bool AllCodePoints(std::string_view s, Pred p) {
  std::u32string u = DecodeUtf8(s);
  if (u.empty()) return false;
  for (char32_t c : u) {
    if (!p(c)) return false;
  }
  return true;
}

Result<Value> StrMethod(const std::string& s, const std::string& name, Args& args) {
  const std::string what = "str." + name + "()";
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    AFTUNE_ASSIGN_OR_RETURN(auto a, BindArgs(args, {"chars"}, what));
    AFTUNE_ASSIGN_OR_RETURN(auto chars, OptString(a[0], what + " argument"));
    return Value::String(PyStrip(s, chars ? *chars : "", !chars, name != "rstrip", name != "lstrip"));
  }
  if (name == "startswith" || name == "endswith") {
    AFTUNE_ASSIGN_OR_RETURN(auto a, BindArgs(args, {"prefix"}, what));
    if (!a[0]) return TypeError(what + " takes exactly one argument (0 given)");
    std::vector<std::string> options;
    if (a[0]->is_string()) {
      options.push_back(a[0]->as_string());
    } else if (a[0]->is_list()) {
      for (const Value& v : a[0]->as_list()) {
        if (!v.is_string()) return TypeError(what + " tuple items must be str, not " + v.TypeName());
        options.push_back(v.as_string());
      }
    } else {
      return TypeError(what + " first arg must be str or a tuple of str, not " + a[0]->TypeName());
    }
    for (const std::string& o : options) {
      bool hit = name == "startswith" ? s.compare(0, o.size(), o) == 0
                                      : s.size() >= o.size() && s.compare(s.size() - o.size(), o.size(), o) == 0;
      if (hit) return Value::Bool(true);
    }
    return Value::Bool(false);
  }
  if (name == "split" || name == "rsplit") {
    AFTUNE_ASSIGN_OR_RETURN(auto a, BindArgs(args, {"sep", "maxsplit"}, what));
    AFTUNE_ASSIGN_OR_RETURN(auto sep, OptString(a[0], what + " separator"));
    AFTUNE_ASSIGN_OR_RETURN(long maxsplit, OptInt(a[1], -1, what + " maxsplit"));
    if (name == "rsplit" && maxsplit >= 0) return TypeError("str.rsplit() with maxsplit is not supported");
    if (sep && sep->empty()) return TypeError("empty separator");
    return StrList(sep ? PySplit(s, *sep, maxsplit) : PySplitWhitespace(s, maxsplit));
  }
  if (name == "replace") {
    AFTUNE_ASSIGN_OR_RETURN(auto a, BindArgs(args, {"old", "new", "count"}, what));
    if (!a[0] || !a[1] || !a[0]->is_string() || !a[1]->is_string()) {
      return TypeError(what + " takes two str arguments");
    }
    AFTUNE_ASSIGN_OR_RETURN(long count, OptInt(a[2], -1, what + " count"));
    std::string out = PyReplace(s, a[0]->as_string(), a[1]->as_string(), count);
    if (out.size() > kMaxOutputBytes) return TypeError("str.replace() result too long");
    return Value::String(std::move(out));
  }
  if (name == "upper" || name == "lower" || name == "title" || name == "capitalize" || name == "splitlines" ||
      name == "isdigit" || name == "isalpha" || name == "isspace" || name == "islower" || name == "isupper") {
    AFTUNE_RETURN_IF_ERROR(BindArgs(args, {}, what).status());
    if (name == "upper") return Value::String(PyUpper(s));
    if (name == "lower") return Value::String(PyLower(s));
    if (name == "title") return Value::String(PyTitle(s));
    if (name == "capitalize") return Value::String(PyCapitalize(s));
    if (name == "splitlines") return StrList(PySplitLines(s));
    if (name == "isdigit") return Value::Bool(AllCodePoints(s, [](char32_t c) { return c >= '0' && c <= '9'; }));
    if (name == "isspace") return Value::Bool(AllCodePoints(s, IsPySpace));
    if (name == "isalpha") {
      return Value::Bool(AllCodePoints(s, [](char32_t c) { return (c | 32) >= 'a' && (c | 32) <= 'z'; }));
    }
    bool cased = PyUpper(s) != PyLower(s);
    if (name == "islower") return Value::Bool(cased && PyLower(s) == s);
    return Value::Bool(cased && PyUpper(s) == s);
  }
  if (name == "join") {
    AFTUNE_ASSIGN_OR_RETURN(auto a, BindArgs(args, {"iterable"}, what));
    if (!a[0]) return TypeError(what + " takes exactly one argument (0 given)");
    AFTUNE_ASSIGN_OR_RETURN(List items, Iterate(*a[0]));
    std::string out;
    for (size_t i = 0; i < items.size(); ++i) {
      if (!items[i].is_string()) {
        return TypeError("sequence item " + std::to_string(i) + ": expected str instance, " + items[i].TypeName() +
                         " found");
      }
      if (i) out += s;
      out += items[i].as_string();
      if (out.size() > kMaxOutputBytes) return TypeError("str.join() result too long");
    }
    return Value::String(std::move(out));
  }
  if (name == "find" || name == "count") {
    AFTUNE_ASSIGN_OR_RETURN(auto a, BindArgs(args, {"sub"}, what));
    if (!a[0] || !a[0]->is_string()) return TypeError(what + " takes one str argument");
    const std::string& sub = a[0]->as_string();
    if (name == "find") {
      size_t at = s.find(sub);
      return Value::Int(at == std::string::npos ? -1 : CodePointIndex(s, at));
    }
    if (sub.empty()) return Value::Int(static_cast<int64_t>(DecodeUtf8(s).size()) + 1);
    int64_t n = 0;
    for (size_t at = s.find(sub); at != std::string::npos; at = s.find(sub, at + sub.size())) ++n;
    return Value::Int(n);
  }
  if (name == "format") {
    // Only "{}" and "{0}"-style fields with positional arguments.
    std::string out;
    size_t next = 0;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '{' && i + 1 < s.size() && s[i + 1] == '{') {
        out += '{';
        ++i;
      } else if (s[i] == '}' && i + 1 < s.size() && s[i + 1] == '}') {
        out += '}';
        ++i;
      } else if (s[i] == '{') {
        size_t close = s.find('}', i);
        if (close == std::string::npos) return TypeError("Single '{' encountered in format string");
        std::string field = s.substr(i + 1, close - i - 1);
        size_t index = next++;
        if (!field.empty()) {
          if (field.find_first_not_of("0123456789") != std::string::npos || field.size() > 6) {
            return TypeError("str.format() field '{" + field + "}' is not supported (positional fields only)");
          }
          index = std::stoul(field);
        }
        if (index >= args.positional.size())
          return TypeError("Replacement index " + std::to_string(index) + " out of range");
        out += args.positional[index].Str();
        i = close;
      } else {
        out += s[i];
      }
    }
    return Value::String(std::move(out));
  }
  return TypeError("'str' object has no method '" + name + "'");
}

Result<Value> DictMethod(const Value& d, const std::string& name, Args& args) {
  const std::string what = "dict." + name + "()";
  if (name == "get") {
    AFTUNE_ASSIGN_OR_RETURN(auto a, BindArgs(args, {"key", "default"}, what));
    if (!a[0]) return TypeError(what + " expected at least 1 argument, got 0");
    if (a[0]->is_string()) {
      if (const Value* v = d.Find(a[0]->as_string())) return *v;
    }
    return a[1] ? *a[1] : Value::None();
  }
  AFTUNE_RETURN_IF_ERROR(BindArgs(args, {}, what).status());
  if (name == "copy") return Value::MakeDict(d.as_dict());
  List out;
  for (const auto& [k, v] : d.as_dict()) {
    if (name == "keys") {
      out.push_back(Value::String(k));
    } else if (name == "values") {
      out.push_back(v);
    } else {
      out.push_back(Value::MakeList({Value::String(k), v}));
    }
  }
  return Value::MakeList(std::move(out));
}

Result<Value> ListMethod(const Value& l, const std::string& name, Args& args) {
  const std::string what = "list." + name + "()";
  AFTUNE_ASSIGN_OR_RETURN(auto a, BindArgs(args, {"value"}, what));
  if (!a[0]) return TypeError(what + " takes exactly one argument (0 given)");
  int64_t n = 0;
  for (size_t i = 0; i < l.as_list().size(); ++i) {
    if (!Equal(l.as_list()[i], *a[0])) continue;
    if (name == "index") return Value::Int(static_cast<int64_t>(i));
    ++n;
  }
  if (name == "index") return TypeError(a[0]->Repr() + " is not in list");
  return Value::Int(n);
}

template <size_t N>
bool In(const std::array<std::string_view, N>& names, std::string_view n) {
  for (std::string_view x : names) {
    if (x == n) return true;
  }
  return false;
}

constexpr std::array<std::string_view, 22> kStrMethods = {
    "strip",   "lstrip",  "rstrip",  "startswith", "endswith", "split", "rsplit", "replace",
    "upper",   "lower",   "title",   "capitalize", "join",     "find",  "count",  "splitlines",
    "isdigit", "isalpha", "isspace", "islower",    "isupper",  "format"};
constexpr std::array<std::string_view, 5> kDictMethods = {"items", "keys", "values", "get", "copy"};
constexpr std::array<std::string_view, 6> kDictMutators = {"clear",      "pop",    "popitem",
                                                           "setdefault", "update", "fromkeys"};
constexpr std::array<std::string_view, 2> kListMethods = {"index", "count"};
constexpr std::array<std::string_view, 9> kListMutators = {"append", "extend", "insert",  "pop", "remove",
                                                           "clear",  "sort",   "reverse", "copy"};

Value Unsafe(const std::string& name, const char* type) {
  return Value::Undefined("access to attribute '" + name + "' of '" + type + "' object is unsafe.");
}

}  // namespace

std::vector<std::string> PySplitLines(std::string_view s) {
  std::u32string u = DecodeUtf8(s);
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t i = 0; i < u.size(); ++i) {
    char32_t c = u[i];
    bool brk = c == '\n' || c == '\r' || c == 0x0b || c == 0x0c || (c >= 0x1c && c <= 0x1e) || c == 0x85 ||
               c == 0x2028 || c == 0x2029;
    if (!brk) continue;
    out.push_back(EncodeUtf8(std::u32string_view(u).substr(start, i - start)));
    if (c == '\r' && i + 1 < u.size() && u[i + 1] == '\n') ++i;
    start = i + 1;
  }
  if (start < u.size()) out.push_back(EncodeUtf8(std::u32string_view(u).substr(start)));
  return out;
}

std::optional<Value> Method(const Value& obj, const std::string& name) {
  if (obj.is_string() && In(kStrMethods, name)) {
    std::string s = obj.as_string();
    return Value::Callable("str." + name, [s, name](Args& a) { return StrMethod(s, name, a); });
  }
  if (obj.is_dict()) {
    if (In(kDictMethods, name)) {
      return Value::Callable("dict." + name, [obj, name](Args& a) { return DictMethod(obj, name, a); });
    }
    if (In(kDictMutators, name)) return Unsafe(name, "dict");
  }
  if (obj.is_list()) {
    if (In(kListMethods, name)) {
      return Value::Callable("list." + name, [obj, name](Args& a) { return ListMethod(obj, name, a); });
    }
    if (In(kListMutators, name)) return Unsafe(name, "list");
  }
  return std::nullopt;
}

}  // namespace aftune::jinja
