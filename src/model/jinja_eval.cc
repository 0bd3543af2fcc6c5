// The Jinja evaluator: see jinja_eval.h and jinja_template.h.
#include "model/jinja_eval.h"

#include <ctime>

#include "model/jinja_filters.h"
#include "model/jinja_ops.h"

namespace aftune::jinja {

namespace {

// Work bounds for untrusted templates.
constexpr int64_t kMaxSteps = 10'000'000;  // statements executed + loop iterations
constexpr int kMaxCallDepth = 64;          // nested macro calls
constexpr int64_t kMaxRange = 100'000;     // Jinja's sandbox MAX_RANGE

Status At(int line, const Status& s) {
  return Status::InvalidArgument("template line " + std::to_string(line) + ": " + s.message());
}

using Frame = std::vector<std::pair<std::string, Value>>;

void Put(Frame* f, const std::string& name, Value v) {
  for (auto& [k, old] : *f) {
    if (k == name) {
      old = std::move(v);
      return;
    }
  }
  f->emplace_back(name, std::move(v));
}

class Evaluator {
 public:
  explicit Evaluator(const JinjaRenderOptions& o) : opt_(o) {}

  Result<JinjaRendered> Run(const Body& body, const Dict& vars) {
    frames_.emplace_back();
    AddGlobals(&frames_[0]);
    for (const auto& [k, v] : vars) Put(&frames_[0], k, v);
    JinjaRendered r;
    root_out_ = &r.text;
    spans_ = &r.generation_spans;
    AFTUNE_RETURN_IF_ERROR(Exec(body, &r.text));
    return r;
  }

 private:
  enum class Flow { kNormal, kBreak, kContinue };

  // ---- globals ----

  void AddGlobals(Frame* f) {
    Put(f, "range", Value::Callable("range", [](Args& a) -> Result<Value> {
          if (!a.keyword.empty()) return Status::InvalidArgument("range() takes no keyword arguments");
          int64_t v[3] = {0, 0, 1};
          size_t n = a.positional.size();
          if (n < 1 || n > 3) return Status::InvalidArgument("range expected 1 to 3 arguments");
          for (size_t i = 0; i < n; ++i) {
            const Value& x = a.positional[i];
            if (x.kind() != Value::Kind::kInt && x.kind() != Value::Kind::kBool) {
              return Status::InvalidArgument("'" + x.TypeName() + "' object cannot be interpreted as an integer");
            }
          }
          if (n == 1) {
            v[1] = a.positional[0].as_int();
          } else {
            v[0] = a.positional[0].as_int();
            v[1] = a.positional[1].as_int();
            if (n == 3) v[2] = a.positional[2].as_int();
          }
          if (v[2] == 0) return Status::InvalidArgument("range() arg 3 must not be zero");
          List out;
          for (int64_t i = v[0]; v[2] > 0 ? i < v[1] : i > v[1]; i += v[2]) {
            if (static_cast<int64_t>(out.size()) >= kMaxRange) {
              return Status::InvalidArgument(
                  "Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
            }
            out.push_back(Value::Int(i));
          }
          return Value::MakeList(std::move(out));
        }));
    auto dict_of = [](Args& a, const char* what) -> Result<Dict> {
      Dict d;
      if (a.positional.size() > 1)
        return Status::InvalidArgument(std::string(what) + " takes at most 1 positional argument");
      if (a.positional.size() == 1) {
        if (!a.positional[0].is_dict())
          return Status::InvalidArgument(std::string(what) + " positional argument must be a dict");
        d = a.positional[0].as_dict();
      }
      for (auto& [k, v] : a.keyword) {
        bool found = false;
        for (auto& kv : d) {
          if (kv.first == k) {
            kv.second = v;
            found = true;
          }
        }
        if (!found) d.emplace_back(k, v);
      }
      return d;
    };
    Put(f, "namespace", Value::Callable("namespace", [dict_of](Args& a) -> Result<Value> {
          AFTUNE_ASSIGN_OR_RETURN(Dict d, dict_of(a, "namespace()"));
          return Value::MakeNamespace(std::move(d));
        }));
    Put(f, "dict", Value::Callable("dict", [dict_of](Args& a) -> Result<Value> {
          AFTUNE_ASSIGN_OR_RETURN(Dict d, dict_of(a, "dict()"));
          return Value::MakeDict(std::move(d));
        }));
    Put(f, "raise_exception", Value::Callable("raise_exception", [](Args& a) -> Result<Value> {
          AFTUNE_ASSIGN_OR_RETURN(auto b, BindArgs(a, {"message"}, "raise_exception()"));
          return Status::InvalidArgument("raise_exception: " + (b[0] ? b[0]->Str() : std::string()));
        }));
    int64_t now = opt_.now_unix;
    Put(f, "strftime_now", Value::Callable("strftime_now", [now](Args& a) -> Result<Value> {
          AFTUNE_ASSIGN_OR_RETURN(auto b, BindArgs(a, {"format"}, "strftime_now()"));
          if (!b[0] || !b[0]->is_string()) return Status::InvalidArgument("strftime_now() needs a format string");
          if (b[0]->as_string().size() > 256) return Status::InvalidArgument("strftime_now() format too long");
          std::time_t t = now >= 0 ? static_cast<std::time_t>(now) : std::time(nullptr);
          std::tm tm{};
          localtime_r(&t, &tm);
          char buf[1024];
          size_t n = std::strftime(buf, sizeof buf, b[0]->as_string().c_str(), &tm);
          return Value::String(std::string(buf, n));
        }));
  }

  // ---- scopes ----

  Value Lookup(const std::string& name) const {
    for (auto f = frames_.rbegin(); f != frames_.rend(); ++f) {
      for (const auto& [k, v] : *f) {
        if (k == name) return v;
      }
    }
    return Value::Undefined("'" + name + "' is undefined");
  }

  Status Assign(const std::vector<std::string>& targets, const Value& v, int line) {
    if (targets.size() == 1) {
      Put(&frames_.back(), targets[0], v);
      return Status::Ok();
    }
    AFTUNE_ASSIGN_OR_RETURN(List items, Iterate(v));
    if (items.size() != targets.size()) {
      return At(line, Status::InvalidArgument(std::string(items.size() > targets.size() ? "too many" : "not enough") +
                                              " values to unpack (expected " + std::to_string(targets.size()) +
                                              ", got " + std::to_string(items.size()) + ")"));
    }
    for (size_t i = 0; i < targets.size(); ++i) Put(&frames_.back(), targets[i], items[i]);
    return Status::Ok();
  }

  // ---- statements ----

  Status Step(int line) {
    if (++steps_ > kMaxSteps) return At(line, Status::InvalidArgument("template ran too long"));
    return Status::Ok();
  }

  Status Write(const std::string& s, std::string* out, int line) {
    if (out->size() + s.size() > kMaxOutputBytes) return At(line, Status::InvalidArgument("output too long"));
    *out += s;
    return Status::Ok();
  }

  Status Exec(const Body& body, std::string* out) {
    for (const auto& n : body) {
      AFTUNE_RETURN_IF_ERROR(ExecNode(*n, out));
      if (flow_ != Flow::kNormal) break;
    }
    return Status::Ok();
  }

  Status ExecNode(const Node& n, std::string* out) {
    AFTUNE_RETURN_IF_ERROR(Step(n.line));
    switch (n.kind) {
      case Node::Kind::kText:
        return Write(n.text, out, n.line);
      case Node::Kind::kPrint: {
        AFTUNE_ASSIGN_OR_RETURN(Value v, Eval(*n.expr));
        return Write(v.Str(), out, n.line);
      }
      case Node::Kind::kIf:
        for (const auto& [cond, body] : n.branches) {
          bool take = true;
          if (cond) {
            AFTUNE_ASSIGN_OR_RETURN(Value c, Eval(*cond));
            take = c.Truthy();
          }
          if (take) return Exec(body, out);
        }
        return Status::Ok();
      case Node::Kind::kFor:
        return ExecFor(n, out);
      case Node::Kind::kSet: {
        AFTUNE_ASSIGN_OR_RETURN(Value v, Eval(*n.expr));
        if (n.attr.empty()) return Assign(n.targets, v, n.line);
        Value ns = Lookup(n.targets[0]);
        if (ns.kind() != Value::Kind::kNamespace) {
          return At(n.line,
                    Status::InvalidArgument("cannot assign attribute on non-namespace object '" + n.targets[0] + "'"));
        }
        Put(&ns.namespace_attrs(), n.attr, v);
        return Status::Ok();
      }
      case Node::Kind::kSetBlock:
      case Node::Kind::kFilterBlock: {
        std::string text;
        AFTUNE_RETURN_IF_ERROR(Exec(n.body, &text));
        Value v = Value::String(std::move(text));
        if (n.filter) {
          AFTUNE_ASSIGN_OR_RETURN(v, EvalFilterChain(*n.filter, v));
        }
        if (n.kind == Node::Kind::kSetBlock) return Assign(n.targets, v, n.line);
        return Write(v.Str(), out, n.line);
      }
      case Node::Kind::kMacro: {
        const Node* node = &n;
        Put(&frames_.back(), n.name, Value::Callable(n.name, [this, node](Args& a) { return CallMacro(*node, a); }));
        return Status::Ok();
      }
      case Node::Kind::kBreak:
        flow_ = Flow::kBreak;
        return Status::Ok();
      case Node::Kind::kContinue:
        flow_ = Flow::kContinue;
        return Status::Ok();
      case Node::Kind::kGeneration: {
        size_t begin = out->size();
        AFTUNE_RETURN_IF_ERROR(Exec(n.body, out));
        if (out == root_out_) spans_->emplace_back(begin, out->size());
        return Status::Ok();
      }
    }
    return Status::Ok();
  }

  Value LoopObject(const List& items, size_t i) {
    const int64_t len = static_cast<int64_t>(items.size()), k = static_cast<int64_t>(i);
    Dict d = {{"index", Value::Int(k + 1)},
              {"index0", Value::Int(k)},
              {"revindex", Value::Int(len - k)},
              {"revindex0", Value::Int(len - k - 1)},
              {"first", Value::Bool(k == 0)},
              {"last", Value::Bool(k == len - 1)},
              {"length", Value::Int(len)},
              {"depth", Value::Int(1)},
              {"depth0", Value::Int(0)},
              {"previtem", k > 0 ? items[i - 1] : Value::Undefined("there is no previous item")},
              {"nextitem", k + 1 < len ? items[i + 1] : Value::Undefined("there is no next item")}};
    d.emplace_back("cycle", Value::Callable("loop.cycle", [k](Args& a) -> Result<Value> {
                     if (a.positional.empty()) return Status::InvalidArgument("no items for cycling given");
                     return a.positional[static_cast<size_t>(k) % a.positional.size()];
                   }));
    return Value::MakeDict(std::move(d));
  }

  Status ExecFor(const Node& n, std::string* out) {
    AFTUNE_ASSIGN_OR_RETURN(Value seq, Eval(*n.expr));
    Result<List> iterated = Iterate(seq);
    if (!iterated.ok()) return At(n.line, iterated.status());
    List items = std::move(iterated).value();
    if (n.filter) {
      List kept;
      for (const Value& item : items) {
        AFTUNE_RETURN_IF_ERROR(Step(n.line));
        frames_.emplace_back();
        Status st = Assign(n.targets, item, n.line);
        Result<Value> keep = st.ok() ? Eval(*n.filter) : Result<Value>(st);
        frames_.pop_back();
        if (!keep.ok()) return keep.status();
        if (keep->Truthy()) kept.push_back(item);
      }
      items = std::move(kept);
    }
    // As Jinja compiles it, the else body runs unless some iteration reached
    // the end of the loop body (one ended by continue or break does not).
    bool completed = false;
    for (size_t i = 0; i < items.size(); ++i) {
      AFTUNE_RETURN_IF_ERROR(Step(n.line));
      frames_.emplace_back();
      Put(&frames_.back(), "loop", LoopObject(items, i));
      Status st = Assign(n.targets, items[i], n.line);
      if (st.ok()) st = Exec(n.body, out);
      frames_.pop_back();
      AFTUNE_RETURN_IF_ERROR(st);
      Flow f = flow_;
      flow_ = Flow::kNormal;
      if (f == Flow::kBreak) break;
      completed = completed || f == Flow::kNormal;
    }
    if (!completed) return Exec(n.else_body, out);
    return Status::Ok();
  }

  Result<Value> CallMacro(const Node& m, Args& a) {
    if (call_depth_ >= kMaxCallDepth) return At(m.line, Status::InvalidArgument("macros nested too deeply"));
    if (a.positional.size() > m.params.size()) {
      return At(m.line, Status::InvalidArgument("macro '" + m.name + "' takes not more than " +
                                                std::to_string(m.params.size()) + " argument(s)"));
    }
    Frame params;
    for (size_t i = 0; i < a.positional.size(); ++i) params.emplace_back(m.params[i].first, a.positional[i]);
    for (const auto& [k, v] : a.keyword) {
      bool known = false;
      for (const auto& p : m.params) known = known || p.first == k;
      if (!known)
        return At(m.line, Status::InvalidArgument("macro '" + m.name + "' takes no keyword argument '" + k + "'"));
      Put(&params, k, v);
    }
    // The macro sees the template's top-level names and its parameters.
    std::vector<Frame> saved;
    saved.swap(frames_);
    frames_.push_back(std::move(saved[0]));
    frames_.push_back(std::move(params));
    ++call_depth_;
    Status st;
    for (const auto& [name, def] : m.params) {
      bool bound = false;
      for (const auto& kv : frames_.back()) bound = bound || kv.first == name;
      if (bound) continue;
      Value v = Value::Undefined("parameter '" + name + "' was not provided");
      if (def) {
        Result<Value> r = Eval(*def);
        if (!r.ok()) {
          st = r.status();
          break;
        }
        v = std::move(r).value();
      }
      Put(&frames_.back(), name, v);
    }
    std::string text;
    if (st.ok()) st = Exec(m.body, &text);
    flow_ = Flow::kNormal;
    --call_depth_;
    saved[0] = std::move(frames_[0]);
    frames_.swap(saved);
    AFTUNE_RETURN_IF_ERROR(st);
    return Value::String(std::move(text));
  }

  // ---- expressions ----

  Result<Args> EvalArgs(const Expr& e, size_t first) {
    Args a;
    for (size_t i = first; i < e.args.size(); ++i) {
      AFTUNE_ASSIGN_OR_RETURN(Value v, Eval(*e.args[i]));
      a.positional.push_back(std::move(v));
    }
    for (const auto& [k, x] : e.kwargs) {
      AFTUNE_ASSIGN_OR_RETURN(Value v, Eval(*x));
      a.keyword.emplace_back(k, std::move(v));
    }
    return a;
  }

  // A filter chain whose innermost input is `input` (args[0] null).
  Result<Value> EvalFilterChain(const Expr& e, const Value& input) {
    Value in = input;
    if (e.args[0]) {
      AFTUNE_ASSIGN_OR_RETURN(in, EvalFilterChain(*e.args[0], input));
    }
    AFTUNE_ASSIGN_OR_RETURN(Args a, EvalArgs(e, 1));
    Result<Value> r = ApplyFilter(e.name, in, a);
    if (!r.ok()) return At(e.line, r.status());
    return r;
  }

  template <typename T>
  Result<T> Located(const Expr& e, Result<T> r) {
    if (!r.ok()) return At(e.line, r.status());
    return r;
  }

  Result<Value> Eval(const Expr& e) {
    switch (e.kind) {
      case Expr::Kind::kLiteral:
        return e.value;
      case Expr::Kind::kName:
        return Lookup(e.name);
      case Expr::Kind::kList: {
        List l;
        for (const auto& x : e.args) {
          AFTUNE_ASSIGN_OR_RETURN(Value v, Eval(*x));
          l.push_back(std::move(v));
        }
        return Value::MakeList(std::move(l));
      }
      case Expr::Kind::kDict: {
        Dict d;
        for (size_t i = 0; i + 1 < e.args.size(); i += 2) {
          AFTUNE_ASSIGN_OR_RETURN(Value k, Eval(*e.args[i]));
          AFTUNE_ASSIGN_OR_RETURN(Value v, Eval(*e.args[i + 1]));
          if (!k.is_string())
            return At(e.line, Status::InvalidArgument("dict keys must be strings, not " + k.TypeName()));
          Put(&d, k.as_string(), std::move(v));
        }
        return Value::MakeDict(std::move(d));
      }
      case Expr::Kind::kAttr: {
        AFTUNE_ASSIGN_OR_RETURN(Value obj, Eval(*e.args[0]));
        return Located(e, GetAttr(obj, e.name));
      }
      case Expr::Kind::kItem: {
        AFTUNE_ASSIGN_OR_RETURN(Value obj, Eval(*e.args[0]));
        AFTUNE_ASSIGN_OR_RETURN(Value key, Eval(*e.args[1]));
        return Located(e, GetItem(obj, key));
      }
      case Expr::Kind::kSlice: {
        AFTUNE_ASSIGN_OR_RETURN(Value obj, Eval(*e.args[0]));
        Value b[3];
        for (int i = 0; i < 3; ++i) {
          if (e.args[i + 1]) {
            AFTUNE_ASSIGN_OR_RETURN(b[i], Eval(*e.args[i + 1]));
          }
        }
        return Located(
            e, Slice(obj, e.args[1] ? &b[0] : nullptr, e.args[2] ? &b[1] : nullptr, e.args[3] ? &b[2] : nullptr));
      }
      case Expr::Kind::kCall: {
        AFTUNE_ASSIGN_OR_RETURN(Value fn, Eval(*e.args[0]));
        AFTUNE_ASSIGN_OR_RETURN(Args a, EvalArgs(e, 1));
        Result<Value> r = Call(fn, a);
        // A macro's or raise_exception's error already names its line.
        if (!r.ok() && r.status().message().rfind("template line ", 0) == 0) return r;
        return Located(e, std::move(r));
      }
      case Expr::Kind::kFilter: {
        AFTUNE_ASSIGN_OR_RETURN(Value in, Eval(*e.args[0]));
        AFTUNE_ASSIGN_OR_RETURN(Args a, EvalArgs(e, 1));
        return Located(e, ApplyFilter(e.name, in, a));
      }
      case Expr::Kind::kTest: {
        AFTUNE_ASSIGN_OR_RETURN(Value in, Eval(*e.args[0]));
        AFTUNE_ASSIGN_OR_RETURN(Args a, EvalArgs(e, 1));
        AFTUNE_ASSIGN_OR_RETURN(bool r, Located(e, ApplyTest(e.name, in, a)));
        return Value::Bool(r != e.negated);
      }
      case Expr::Kind::kUnary: {
        AFTUNE_ASSIGN_OR_RETURN(Value v, Eval(*e.args[0]));
        if (e.name == "not") return Value::Bool(!v.Truthy());
        return Located(e, UnaryMinusPlus(e.name, v));
      }
      case Expr::Kind::kBinary: {
        AFTUNE_ASSIGN_OR_RETURN(Value a, Eval(*e.args[0]));
        if (e.name == "and") return a.Truthy() ? Eval(*e.args[1]) : a;
        if (e.name == "or") return a.Truthy() ? a : Eval(*e.args[1]);
        AFTUNE_ASSIGN_OR_RETURN(Value b, Eval(*e.args[1]));
        return Located(e, BinaryOp(e.name, a, b));
      }
      case Expr::Kind::kCompare: {
        AFTUNE_ASSIGN_OR_RETURN(Value left, Eval(*e.args[0]));
        for (size_t i = 0; i < e.ops.size(); ++i) {
          AFTUNE_ASSIGN_OR_RETURN(Value right, Eval(*e.args[i + 1]));
          AFTUNE_ASSIGN_OR_RETURN(bool ok, Located(e, CompareOp(e.ops[i], left, right)));
          if (!ok) return Value::Bool(false);
          left = std::move(right);
        }
        return Value::Bool(true);
      }
      case Expr::Kind::kCond: {
        AFTUNE_ASSIGN_OR_RETURN(Value c, Eval(*e.args[1]));
        if (c.Truthy()) return Eval(*e.args[0]);
        if (e.args[2]) return Eval(*e.args[2]);
        return Value::Undefined("the inline if-expression on line " + std::to_string(e.line) +
                                " evaluated to false and no else section was defined.");
      }
    }
    return Value();
  }

  const JinjaRenderOptions& opt_;
  std::vector<Frame> frames_;
  Flow flow_ = Flow::kNormal;
  int64_t steps_ = 0;
  int call_depth_ = 0;
  const std::string* root_out_ = nullptr;
  std::vector<std::pair<size_t, size_t>>* spans_ = nullptr;
};

Status CheckExpr(const Expr& e) {
  if (e.kind == Expr::Kind::kFilter && !HasFilter(e.name)) {
    return At(e.line, Status::InvalidArgument("no filter named '" + e.name + "'"));
  }
  if (e.kind == Expr::Kind::kTest && !HasTest(e.name)) {
    return At(e.line, Status::InvalidArgument("no test named '" + e.name + "'"));
  }
  for (const auto& a : e.args) {
    if (a) AFTUNE_RETURN_IF_ERROR(CheckExpr(*a));
  }
  for (const auto& kv : e.kwargs) AFTUNE_RETURN_IF_ERROR(CheckExpr(*kv.second));
  return Status::Ok();
}

}  // namespace

Status CheckNames(const Body& body) {
  for (const auto& n : body) {
    for (const Expr* e : {n->expr.get(), n->filter.get()}) {
      if (e) AFTUNE_RETURN_IF_ERROR(CheckExpr(*e));
    }
    for (const auto& [cond, b] : n->branches) {
      if (cond) AFTUNE_RETURN_IF_ERROR(CheckExpr(*cond));
      AFTUNE_RETURN_IF_ERROR(CheckNames(b));
    }
    for (const auto& p : n->params) {
      if (p.second) AFTUNE_RETURN_IF_ERROR(CheckExpr(*p.second));
    }
    AFTUNE_RETURN_IF_ERROR(CheckNames(n->body));
    AFTUNE_RETURN_IF_ERROR(CheckNames(n->else_body));
  }
  return Status::Ok();
}

Result<JinjaRendered> Evaluate(const Body& body, const Dict& variables, const JinjaRenderOptions& options) {
  return Evaluator(options).Run(body, variables);
}

}  // namespace aftune::jinja
