// Jinja operators and access with Python semantics: see jinja_ops.h.
#include "model/jinja_ops.h"

#include <cmath>
#include <limits>

#include "model/jinja_methods.h"
#include "model/jinja_text.h"

namespace aftune::jinja {

namespace {

using K = Value::Kind;

Status TypeError(const std::string& m) { return Status::InvalidArgument(m); }
Status UndefinedError(const Value& v) {
  return Status::InvalidArgument(v.undefined_reason().empty() ? "value is undefined" : v.undefined_reason());
}

bool IsIntLike(const Value& v) { return v.kind() == K::kInt || v.kind() == K::kBool; }

Status Unsupported(std::string_view op, const Value& a, const Value& b) {
  return TypeError("unsupported operand type(s) for " + std::string(op) + ": '" + a.TypeName() + "' and '" +
                   b.TypeName() + "'");
}

// Python's floor division and modulo of integers.
int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

Result<Value> Repeat(const Value& seq, int64_t n) {
  if (n < 0) n = 0;
  if (seq.is_string()) {
    if (n > 0 && seq.as_string().size() * static_cast<uint64_t>(n) > kMaxOutputBytes) {
      return TypeError("repeated string too long");
    }
    std::string out;
    for (int64_t i = 0; i < n; ++i) out += seq.as_string();
    return Value::String(std::move(out));
  }
  if (n > 0 && seq.as_list().size() * static_cast<uint64_t>(n) > kMaxOutputBytes / 16) {
    return TypeError("repeated list too long");
  }
  List out;
  for (int64_t i = 0; i < n; ++i) out.insert(out.end(), seq.as_list().begin(), seq.as_list().end());
  return Value::MakeList(std::move(out));
}

Result<Value> Arith(std::string_view op, const Value& a, const Value& b) {
  bool ints = IsIntLike(a) && IsIntLike(b);
  if (op == "+" || op == "-" || op == "*") {
    if (ints) {
      int64_t r;
      bool overflow = op == "+"   ? __builtin_add_overflow(a.as_int(), b.as_int(), &r)
                      : op == "-" ? __builtin_sub_overflow(a.as_int(), b.as_int(), &r)
                                  : __builtin_mul_overflow(a.as_int(), b.as_int(), &r);
      if (overflow) return TypeError("integer overflow in " + std::string(op));
      return Value::Int(r);
    }
    double x = a.as_float(), y = b.as_float();
    return Value::Float(op == "+" ? x + y : op == "-" ? x - y : x * y);
  }
  if (op == "/") {
    if (b.as_float() == 0) return TypeError("division by zero");
    return Value::Float(a.as_float() / b.as_float());
  }
  if (op == "//" || op == "%") {
    if (ints) {
      if (b.as_int() == 0) return TypeError("integer division or modulo by zero");
      if (a.as_int() == std::numeric_limits<int64_t>::min() && b.as_int() == -1) {
        return TypeError("integer overflow in " + std::string(op));
      }
      int64_t q = FloorDiv(a.as_int(), b.as_int());
      return Value::Int(op == "//" ? q : a.as_int() - q * b.as_int());
    }
    double x = a.as_float(), y = b.as_float();
    if (y == 0) return TypeError("float division or modulo by zero");
    double m = std::fmod(x, y);
    if (m != 0 && ((m < 0) != (y < 0))) m += y;
    double q = (x - m) / y;  // exact multiple of y, as Python's float floordiv
    return Value::Float(op == "//" ? std::round(q) : m);
  }
  // "**": integer powers only (no library pow in aftune).
  if (!ints || b.as_int() < 0) return TypeError("'**' is supported for integers with a non-negative exponent only");
  int64_t r = 1;
  for (int64_t i = 0; i < b.as_int(); ++i) {
    if (__builtin_mul_overflow(r, a.as_int(), &r)) return TypeError("integer overflow in **");
    if (r == 0 || r == 1) break;
  }
  return Value::Int(r);
}

// Python's ordering of two values for < <= > >=; *out < 0, 0, > 0.
Status Order(const Value& a, const Value& b, std::string_view op, int* out) {
  if (a.is_number() && b.is_number()) {
    if (IsIntLike(a) && IsIntLike(b)) {
      *out = a.as_int() < b.as_int() ? -1 : a.as_int() > b.as_int();
    } else {
      double x = a.as_float(), y = b.as_float();
      *out = x < y ? -1 : x > y ? 1 : 0;
    }
    return Status::Ok();
  }
  if (a.is_string() && b.is_string()) {
    int c = a.as_string().compare(b.as_string());  // UTF-8 byte order is code point order
    *out = c < 0 ? -1 : c > 0;
    return Status::Ok();
  }
  if (a.is_list() && b.is_list()) {
    const List &x = a.as_list(), &y = b.as_list();
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (Equal(x[i], y[i])) continue;
      return Order(x[i], y[i], op, out);
    }
    *out = x.size() < y.size() ? -1 : x.size() > y.size();
    return Status::Ok();
  }
  return TypeError("'" + std::string(op) + "' not supported between instances of '" + a.TypeName() + "' and '" +
                   b.TypeName() + "'");
}

Result<bool> Contains(const Value& hay, const Value& needle) {
  switch (hay.kind()) {
    case K::kUndefined:
      return false;
    case K::kString:
      if (!needle.is_string()) {
        return TypeError("'in <string>' requires string as left operand, not " + needle.TypeName());
      }
      return hay.as_string().find(needle.as_string()) != std::string::npos;
    case K::kList:
      for (const Value& v : hay.as_list()) {
        if (Equal(v, needle)) return true;
      }
      return false;
    case K::kDict:
      return needle.is_string() && hay.Find(needle.as_string()) != nullptr;
    default:
      return TypeError("argument of type '" + hay.TypeName() + "' is not iterable");
  }
}

// Python's index normalisation for a sequence of length n.
bool NormalizeIndex(int64_t* i, int64_t n) {
  if (*i < 0) *i += n;
  return *i >= 0 && *i < n;
}

}  // namespace

Result<Value> BinaryOp(std::string_view op, const Value& a, const Value& b) {
  if (op == "~") {
    std::string s = a.Str() + b.Str();
    if (s.size() > kMaxOutputBytes) return TypeError("string too long");
    return Value::String(std::move(s));
  }
  if (a.is_undefined()) return UndefinedError(a);
  if (b.is_undefined()) return UndefinedError(b);
  if (a.is_number() && b.is_number()) return Arith(op, a, b);
  if (op == "+") {
    if (a.is_string() && b.is_string()) {
      if (a.as_string().size() + b.as_string().size() > kMaxOutputBytes) return TypeError("string too long");
      return Value::String(a.as_string() + b.as_string());
    }
    if (a.is_list() && b.is_list()) {
      List l = a.as_list();
      l.insert(l.end(), b.as_list().begin(), b.as_list().end());
      return Value::MakeList(std::move(l));
    }
    if (a.is_string()) return TypeError("can only concatenate str (not \"" + b.TypeName() + "\") to str");
    if (a.is_list()) return TypeError("can only concatenate list (not \"" + b.TypeName() + "\") to list");
  }
  if (op == "*") {
    if ((a.is_string() || a.is_list()) && IsIntLike(b)) return Repeat(a, b.as_int());
    if ((b.is_string() || b.is_list()) && IsIntLike(a)) return Repeat(b, a.as_int());
  }
  if (op == "%" && a.is_string()) return TypeError("printf-style string formatting ('%') is not supported");
  return Unsupported(op, a, b);
}

Result<Value> UnaryMinusPlus(std::string_view op, const Value& a) {
  if (a.is_undefined()) return UndefinedError(a);
  if (!a.is_number()) return TypeError("bad operand type for unary " + std::string(op) + ": '" + a.TypeName() + "'");
  if (op == "+") return IsIntLike(a) ? Value::Int(a.as_int()) : a;
  if (IsIntLike(a)) {
    if (a.as_int() == std::numeric_limits<int64_t>::min()) return TypeError("integer overflow in unary -");
    return Value::Int(-a.as_int());
  }
  return Value::Float(-a.as_float());
}

Result<bool> CompareOp(std::string_view op, const Value& a, const Value& b) {
  if (op == "==") return Equal(a, b);
  if (op == "!=") return !Equal(a, b);
  if (op == "in") return Contains(b, a);
  if (op == "not in") {
    AFTUNE_ASSIGN_OR_RETURN(bool in, Contains(b, a));
    return !in;
  }
  int c = 0;
  AFTUNE_RETURN_IF_ERROR(Order(a, b, op, &c));
  if (op == "<") return c < 0;
  if (op == "<=") return c <= 0;
  if (op == ">") return c > 0;
  return c >= 0;  // ">="
}

Result<Value> GetAttr(const Value& obj, const std::string& name) {
  if (obj.is_undefined()) return UndefinedError(obj);
  if (std::optional<Value> m = Method(obj, name)) return *m;
  if (obj.kind() == K::kDict || obj.kind() == K::kNamespace) {
    if (const Value* v = obj.Find(name)) return *v;
  }
  std::string type = obj.kind() == K::kNamespace ? "Namespace" : obj.TypeName() + " object";
  return Value::Undefined("'" + type + "' has no attribute '" + name + "'");
}

Result<Value> GetItem(const Value& obj, const Value& key) {
  if (obj.is_undefined()) return UndefinedError(obj);
  if (obj.is_dict() && key.is_string()) {
    if (const Value* v = obj.Find(key.as_string())) return *v;
  }
  if ((obj.is_list() || obj.is_string()) && IsIntLike(key)) {
    int64_t i = key.as_int();
    if (obj.is_list()) {
      if (NormalizeIndex(&i, static_cast<int64_t>(obj.as_list().size()))) return obj.as_list()[i];
    } else {
      std::u32string u = DecodeUtf8(obj.as_string());
      if (NormalizeIndex(&i, static_cast<int64_t>(u.size()))) return Value::String(EncodeUtf8(u.substr(i, 1)));
    }
    return Value::Undefined("'" + obj.TypeName() + " object' has no element " + std::to_string(key.as_int()));
  }
  if (key.is_string()) return GetAttr(obj, key.as_string());
  return Value::Undefined("'" + obj.TypeName() + " object' has no element " + key.Repr());
}

Result<Value> Slice(const Value& obj, const Value* start, const Value* stop, const Value* step) {
  if (obj.is_undefined()) return UndefinedError(obj);
  if (!obj.is_list() && !obj.is_string()) return TypeError("'" + obj.TypeName() + "' object is not subscriptable");
  auto bound = [](const Value* v, const char* what, std::optional<int64_t>* out) -> Status {
    if (!v || v->is_none()) return Status::Ok();
    if (!IsIntLike(*v)) return TypeError(std::string("slice ") + what + " must be an integer or None");
    *out = v->as_int();
    return Status::Ok();
  };
  std::optional<int64_t> b, e, s;
  AFTUNE_RETURN_IF_ERROR(bound(start, "start", &b));
  AFTUNE_RETURN_IF_ERROR(bound(stop, "stop", &e));
  AFTUNE_RETURN_IF_ERROR(bound(step, "step", &s));
  int64_t st = s.value_or(1);
  if (st == 0) return TypeError("slice step cannot be zero");
  std::u32string u;
  if (obj.is_string()) u = DecodeUtf8(obj.as_string());
  const int64_t n = obj.is_string() ? static_cast<int64_t>(u.size()) : static_cast<int64_t>(obj.as_list().size());
  // Python's PySlice_AdjustIndices.
  auto adjust = [&](std::optional<int64_t> v, int64_t dflt) {
    if (!v) return dflt;
    int64_t x = *v;
    if (x < 0) {
      x += n;
      if (x < 0) x = st < 0 ? -1 : 0;
    } else if (x >= n) {
      x = st < 0 ? n - 1 : n;
    }
    return x;
  };
  int64_t lo = adjust(b, st < 0 ? n - 1 : 0), hi = adjust(e, st < 0 ? -1 : n);
  std::vector<int64_t> idx;
  for (int64_t i = lo; st > 0 ? i < hi : i > hi; i += st) idx.push_back(i);
  if (obj.is_string()) {
    std::u32string out;
    for (int64_t i : idx) out += u[i];
    return Value::String(EncodeUtf8(out));
  }
  List out;
  for (int64_t i : idx) out.push_back(obj.as_list()[i]);
  return Value::MakeList(std::move(out));
}

Result<List> Iterate(const Value& v) {
  switch (v.kind()) {
    case K::kUndefined:
      return List();
    case K::kList:
      return v.as_list();
    case K::kDict: {
      List keys;
      for (const auto& kv : v.as_dict()) keys.push_back(Value::String(kv.first));
      return keys;
    }
    case K::kString: {
      List chars;
      for (char32_t c : DecodeUtf8(v.as_string())) chars.push_back(Value::String(EncodeUtf8(std::u32string(1, c))));
      return chars;
    }
    default:
      return TypeError("'" + v.TypeName() + "' object is not iterable");
  }
}

Result<int64_t> Length(const Value& v) {
  switch (v.kind()) {
    case K::kUndefined:
      return 0;
    case K::kString:
      return static_cast<int64_t>(DecodeUtf8(v.as_string()).size());
    case K::kList:
      return static_cast<int64_t>(v.as_list().size());
    case K::kDict:
      return static_cast<int64_t>(v.as_dict().size());
    default:
      return TypeError("object of type '" + v.TypeName() + "' has no len()");
  }
}

Result<Value> Call(const Value& fn, Args& args) {
  if (fn.is_undefined()) return UndefinedError(fn);
  if (fn.kind() != K::kCallable) return TypeError("'" + fn.TypeName() + "' object is not callable");
  return fn.function()(args);
}

}  // namespace aftune::jinja
