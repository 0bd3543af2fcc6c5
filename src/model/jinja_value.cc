// Jinja values with Python semantics: see jinja_value.h.
#include "model/jinja_value.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "model/jinja_text.h"

namespace aftune::jinja {

Value Value::MakeList(List items) {
  Value v(Kind::kList);
  v.list_ = std::make_shared<List>(std::move(items));
  return v;
}

Value Value::MakeDict(Dict items) {
  Value v(Kind::kDict);
  v.dict_ = std::make_shared<Dict>(std::move(items));
  return v;
}

Value Value::MakeNamespace(Dict items) {
  Value v(Kind::kNamespace);
  v.dict_ = std::make_shared<Dict>(std::move(items));
  return v;
}

Value Value::Callable(std::string name, Function fn) {
  Value v(Kind::kCallable);
  v.str_ = std::move(name);
  v.fn_ = std::make_shared<Function>(std::move(fn));
  return v;
}

Value Value::FromJson(const nlohmann::ordered_json& j) {
  switch (j.type()) {
    case nlohmann::ordered_json::value_t::null:
      return None();
    case nlohmann::ordered_json::value_t::boolean:
      return Bool(j.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer:
      return Int(j.get<int64_t>());
    case nlohmann::ordered_json::value_t::number_unsigned: {
      uint64_t u = j.get<uint64_t>();
      // Python's int is unbounded; beyond int64 the float is the nearest aftune has.
      return u <= static_cast<uint64_t>(INT64_MAX) ? Int(static_cast<int64_t>(u)) : Float(static_cast<double>(u));
    }
    case nlohmann::ordered_json::value_t::number_float:
      return Float(j.get<double>());
    case nlohmann::ordered_json::value_t::string:
      return String(j.get<std::string>());
    case nlohmann::ordered_json::value_t::array: {
      List l;
      for (const auto& e : j) l.push_back(FromJson(e));
      return MakeList(std::move(l));
    }
    case nlohmann::ordered_json::value_t::object: {
      Dict d;
      for (auto it = j.begin(); it != j.end(); ++it) d.emplace_back(it.key(), FromJson(it.value()));
      return MakeDict(std::move(d));
    }
    default:
      return None();  // binary and discarded values do not come from parsed text
  }
}

const Value* Value::Find(std::string_view key) const {
  if (!dict_ || (kind_ != Kind::kDict && kind_ != Kind::kNamespace)) return nullptr;
  for (const auto& [k, v] : *dict_) {
    if (k == key) return &v;
  }
  return nullptr;
}

bool Value::Truthy() const {
  switch (kind_) {
    case Kind::kUndefined:
    case Kind::kNone:
      return false;
    case Kind::kBool:
    case Kind::kInt:
      return int_ != 0;
    case Kind::kFloat:
      return float_ != 0;
    case Kind::kString:
      return !str_.empty();
    case Kind::kList:
      return !list_->empty();
    case Kind::kDict:
      return !dict_->empty();
    case Kind::kNamespace:
    case Kind::kCallable:
      return true;
  }
  return false;
}

std::string Value::TypeName() const {
  switch (kind_) {
    case Kind::kUndefined:
      return "Undefined";
    case Kind::kNone:
      return "NoneType";
    case Kind::kBool:
      return "bool";
    case Kind::kInt:
      return "int";
    case Kind::kFloat:
      return "float";
    case Kind::kString:
      return "str";
    case Kind::kList:
      return "list";
    case Kind::kDict:
      return "dict";
    case Kind::kNamespace:
      return "Namespace";
    case Kind::kCallable:
      return "function";
  }
  return "?";
}

std::string Value::Str() const {
  switch (kind_) {
    case Kind::kUndefined:
      return "";
    case Kind::kString:
      return str_;
    default:
      return Repr();
  }
}

std::string Value::Repr() const {
  switch (kind_) {
    case Kind::kUndefined:
      return "";
    case Kind::kNone:
      return "None";
    case Kind::kBool:
      return int_ ? "True" : "False";
    case Kind::kInt:
      return std::to_string(int_);
    case Kind::kFloat:
      return PyFloatRepr(float_);
    case Kind::kString:
      return PyStrRepr(str_);
    case Kind::kList: {
      std::string out = "[";
      for (size_t i = 0; i < list_->size(); ++i) {
        if (i) out += ", ";
        out += (*list_)[i].Repr();
      }
      return out + "]";
    }
    case Kind::kDict: {
      std::string out = "{";
      for (size_t i = 0; i < dict_->size(); ++i) {
        if (i) out += ", ";
        out += PyStrRepr((*dict_)[i].first) + ": " + (*dict_)[i].second.Repr();
      }
      return out + "}";
    }
    case Kind::kNamespace:
      return "<Namespace>";
    case Kind::kCallable:
      return "<function " + str_ + ">";
  }
  return "";
}

Result<std::vector<std::optional<Value>>> BindArgs(const Args& args, std::initializer_list<std::string_view> params,
                                                   const std::string& what) {
  std::vector<std::optional<Value>> out(params.size());
  if (args.positional.size() > params.size()) {
    return Status::InvalidArgument(what + " takes at most " + std::to_string(params.size()) + " arguments (" +
                                   std::to_string(args.positional.size()) + " given)");
  }
  for (size_t i = 0; i < args.positional.size(); ++i) out[i] = args.positional[i];
  for (const auto& [name, v] : args.keyword) {
    size_t i = 0;
    for (std::string_view p : params) {
      if (p == name) break;
      ++i;
    }
    if (i == params.size()) return Status::InvalidArgument(what + " got an unexpected keyword argument '" + name + "'");
    if (out[i]) return Status::InvalidArgument(what + " got multiple values for argument '" + name + "'");
    out[i] = v;
  }
  return out;
}

bool Equal(const Value& a, const Value& b) {
  using K = Value::Kind;
  if (a.is_number() && b.is_number()) {
    if (a.kind() == K::kFloat || b.kind() == K::kFloat) return a.as_float() == b.as_float();
    return a.as_int() == b.as_int();
  }
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case K::kUndefined:
    case K::kNone:
      return true;
    case K::kString:
      return a.as_string() == b.as_string();
    case K::kList: {
      const List &x = a.as_list(), &y = b.as_list();
      if (x.size() != y.size()) return false;
      for (size_t i = 0; i < x.size(); ++i) {
        if (!Equal(x[i], y[i])) return false;
      }
      return true;
    }
    case K::kDict: {
      const Dict &x = a.as_dict(), &y = b.as_dict();
      if (x.size() != y.size()) return false;
      for (const auto& [k, v] : x) {
        const Value* w = b.Find(k);
        if (!w || !Equal(v, *w)) return false;
      }
      return true;
    }
    case K::kNamespace:
      return &a.as_dict() == &b.as_dict();  // identity, as Python's default __eq__
    default:
      return false;
  }
}

std::string PyFloatRepr(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d < 0 ? "-inf" : "inf";
  char buf[64];
  // Shortest round-trip digits in scientific form: [-]d[.ddd]e(+|-)XX.
  auto res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  std::string sign;
  if (sci[0] == '-') {
    sign = "-";
    sci.erase(0, 1);
  }
  size_t e = sci.find('e');
  std::string digits = sci.substr(0, e);
  digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
  int exp = std::stoi(sci.substr(e + 1));
  std::string out;
  if (exp >= -4 && exp < 16) {
    if (exp >= 0) {
      if (digits.size() <= static_cast<size_t>(exp) + 1) digits.append(exp + 1 - digits.size(), '0');
      out = digits.substr(0, exp + 1) + "." +
            (digits.size() > static_cast<size_t>(exp) + 1 ? digits.substr(exp + 1) : "0");
    } else {
      out = "0." + std::string(-exp - 1, '0') + digits;
    }
  } else {
    out = digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    char ebuf[16];
    std::snprintf(ebuf, sizeof ebuf, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    out += ebuf;
  }
  return sign + out;
}

std::string PyStrRepr(std::string_view s) {
  char q = (s.find('\'') != std::string_view::npos && s.find('"') == std::string_view::npos) ? '"' : '\'';
  std::string out(1, q);
  for (unsigned char c : s) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c == q) {
          out += '\\';
          out += static_cast<char>(c);
        } else if (c < 0x20 || c == 0x7f) {
          char buf[16];
          std::snprintf(buf, sizeof buf, "\\x%02x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + q;
}

namespace {

void AppendU16(char32_t c, std::string* out) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
  *out += buf;
}

// A JSON string as json.dumps writes it.
void DumpString(std::string_view s, bool ensure_ascii, std::string* out) {
  *out += '"';
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = s[i];
    if (ensure_ascii && c >= 0x80) {
      size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
      std::u32string u = DecodeUtf8(s.substr(i, n));
      i += n - 1;
      char32_t cp = u.empty() ? 0xfffd : u[0];
      if (cp >= 0x10000) {
        AppendU16(0xd800 + ((cp - 0x10000) >> 10), out);
        AppendU16(0xdc00 + ((cp - 0x10000) & 0x3ff), out);
      } else {
        AppendU16(cp, out);
      }
      continue;
    }
    switch (c) {
      case '"':
        *out += "\\\"";
        break;
      case '\\':
        *out += "\\\\";
        break;
      case '\n':
        *out += "\\n";
        break;
      case '\r':
        *out += "\\r";
        break;
      case '\t':
        *out += "\\t";
        break;
      case '\b':
        *out += "\\b";
        break;
      case '\f':
        *out += "\\f";
        break;
      default:
        if (c < 0x20) {
          char buf[16];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          *out += buf;
        } else {
          *out += static_cast<char>(c);
        }
    }
  }
  *out += '"';
}

struct Dumper {
  const JsonDumpOptions& opt;
  std::string indent_unit;
  bool indented;
  std::string item_sep, key_sep;

  explicit Dumper(const JsonDumpOptions& o) : opt(o) {
    indented = o.has_indent;
    indent_unit = !o.indent_text.empty() ? o.indent_text : std::string(o.indent > 0 ? o.indent : 0, ' ');
    item_sep = o.has_separators ? o.item_separator : (indented ? "," : ", ");
    key_sep = o.has_separators ? o.key_separator : ": ";
  }

  void Newline(int depth, std::string* out) const {
    *out += '\n';
    for (int i = 0; i < depth; ++i) *out += indent_unit;
  }

  Status Dump(const Value& v, int depth, std::string* out) const {
    using K = Value::Kind;
    switch (v.kind()) {
      case K::kNone:
        *out += "null";
        return Status::Ok();
      case K::kBool:
        *out += v.as_int() ? "true" : "false";
        return Status::Ok();
      case K::kInt:
        *out += std::to_string(v.as_int());
        return Status::Ok();
      case K::kFloat: {
        double d = v.as_float();
        *out += std::isnan(d) ? "NaN" : std::isinf(d) ? (d < 0 ? "-Infinity" : "Infinity") : PyFloatRepr(d);
        return Status::Ok();
      }
      case K::kString:
        DumpString(v.as_string(), opt.ensure_ascii, out);
        return Status::Ok();
      case K::kList: {
        const List& l = v.as_list();
        if (l.empty()) {
          *out += "[]";
          return Status::Ok();
        }
        *out += '[';
        for (size_t i = 0; i < l.size(); ++i) {
          if (i) *out += item_sep;
          if (indented) Newline(depth + 1, out);
          AFTUNE_RETURN_IF_ERROR(Dump(l[i], depth + 1, out));
        }
        if (indented) Newline(depth, out);
        *out += ']';
        return Status::Ok();
      }
      case K::kDict: {
        std::vector<const std::pair<std::string, Value>*> items;
        for (const auto& kv : v.as_dict()) items.push_back(&kv);
        if (opt.sort_keys) {
          std::stable_sort(items.begin(), items.end(), [](auto* a, auto* b) { return a->first < b->first; });
        }
        if (items.empty()) {
          *out += "{}";
          return Status::Ok();
        }
        *out += '{';
        for (size_t i = 0; i < items.size(); ++i) {
          if (i) *out += item_sep;
          if (indented) Newline(depth + 1, out);
          DumpString(items[i]->first, opt.ensure_ascii, out);
          *out += key_sep;
          AFTUNE_RETURN_IF_ERROR(Dump(items[i]->second, depth + 1, out));
        }
        if (indented) Newline(depth, out);
        *out += '}';
        return Status::Ok();
      }
      default:
        return Status::InvalidArgument("Object of type " + v.TypeName() + " is not JSON serializable");
    }
  }
};

}  // namespace

Result<std::string> JsonDumps(const Value& v, const JsonDumpOptions& opt) {
  std::string out;
  AFTUNE_RETURN_IF_ERROR(Dumper(opt).Dump(v, 0, &out));
  return out;
}

}  // namespace aftune::jinja
