// The Jinja parser: see jinja_parser.h for the grammar covered.
#include "model/jinja_parser.h"

#include <charconv>
#include <cstdlib>
#include <initializer_list>
#include <string_view>

namespace aftune::jinja {

namespace {

using T = Token::Type;

// Nesting beyond this is refused: the evaluator recurses once per level.
constexpr int kMaxDepth = 200;

class Parser {
 public:
  explicit Parser(const std::vector<Token>& t) : t_(t) {}

  Result<Body> Template() {
    std::string stop;
    AFTUNE_ASSIGN_OR_RETURN(Body body, ParseBody({}, &stop));
    return body;
  }

 private:
  const Token& Cur() const { return t_[pos_]; }
  const Token& Peek(size_t k = 1) const { return t_[std::min(pos_ + k, t_.size() - 1)]; }
  bool IsOp(std::string_view op) const { return Cur().type == T::kOp && Cur().text == op; }
  bool IsName(std::string_view n) const { return Cur().type == T::kName && Cur().text == n; }
  void Next() {
    if (pos_ + 1 < t_.size()) ++pos_;
  }

  Status Error(const std::string& what) const {
    return Status::InvalidArgument("template line " + std::to_string(Cur().line) + ": " + what);
  }
  std::string Describe(const Token& tok) const {
    switch (tok.type) {
      case T::kStmtEnd:
        return "end of statement";
      case T::kPrintEnd:
        return "end of print statement";
      case T::kEnd:
        return "end of template";
      case T::kString:
        return "string";
      default:
        return "'" + tok.text + "'";
    }
  }
  Status Expect(std::string_view op) {
    if (!IsOp(op)) return Error("expected '" + std::string(op) + "', got " + Describe(Cur()));
    Next();
    return Status::Ok();
  }
  Status ExpectStmtEnd() {
    if (Cur().type != T::kStmtEnd) return Error("expected end of statement, got " + Describe(Cur()));
    Next();
    return Status::Ok();
  }
  Result<std::string> ExpectName() {
    if (Cur().type != T::kName) return Error("expected a name, got " + Describe(Cur()));
    std::string n = Cur().text;
    Next();
    return n;
  }

  ExprPtr Make(Expr::Kind kind, int line) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->line = line;
    return e;
  }

  // ---- statements ----

  // Nodes up to a `{% name %}` statement whose name is in `stops` (left
  // unconsumed after its name, which goes to *stop) or the end of the template.
  Result<Body> ParseBody(std::initializer_list<std::string_view> stops, std::string* stop) {
    if (++depth_ > kMaxDepth) return Error("blocks nested too deeply");
    Body body;
    while (Cur().type != T::kEnd) {
      if (Cur().type == T::kText) {
        auto n = std::make_unique<Node>();
        n->kind = Node::Kind::kText;
        n->line = Cur().line;
        n->text = Cur().text;
        body.push_back(std::move(n));
        Next();
      } else if (Cur().type == T::kPrintBegin) {
        auto n = std::make_unique<Node>();
        n->kind = Node::Kind::kPrint;
        n->line = Cur().line;
        Next();
        AFTUNE_ASSIGN_OR_RETURN(n->expr, ParseTuple(true));
        if (Cur().type != T::kPrintEnd) return Error("expected end of print statement, got " + Describe(Cur()));
        Next();
        body.push_back(std::move(n));
      } else {
        Next();  // kStmtBegin
        if (Cur().type != T::kName) return Error("expected a statement name, got " + Describe(Cur()));
        for (std::string_view s : stops) {
          if (Cur().text == s) {
            *stop = Cur().text;
            Next();
            --depth_;
            return body;
          }
        }
        AFTUNE_ASSIGN_OR_RETURN(auto n, ParseStatement());
        body.push_back(std::move(n));
      }
    }
    if (stops.size() != 0) {
      std::string want;
      for (std::string_view s : stops) want += (want.empty() ? "'" : " or '") + std::string(s) + "'";
      return Error("unexpected end of template, expected " + want);
    }
    --depth_;
    return body;
  }

  Result<std::unique_ptr<Node>> ParseStatement() {
    auto n = std::make_unique<Node>();
    n->line = Cur().line;
    const std::string kw = Cur().text;
    Next();
    std::string stop;
    if (kw == "if") {
      n->kind = Node::Kind::kIf;
      while (true) {
        AFTUNE_ASSIGN_OR_RETURN(ExprPtr cond, ParseExpression(true));
        AFTUNE_RETURN_IF_ERROR(ExpectStmtEnd());
        AFTUNE_ASSIGN_OR_RETURN(Body b, ParseBody({"elif", "else", "endif"}, &stop));
        n->branches.emplace_back(std::move(cond), std::move(b));
        if (stop != "elif") break;
      }
      if (stop == "else") {
        AFTUNE_RETURN_IF_ERROR(ExpectStmtEnd());
        AFTUNE_ASSIGN_OR_RETURN(Body b, ParseBody({"endif"}, &stop));
        n->branches.emplace_back(nullptr, std::move(b));
      }
      AFTUNE_RETURN_IF_ERROR(ExpectStmtEnd());
    } else if (kw == "for") {
      n->kind = Node::Kind::kFor;
      AFTUNE_RETURN_IF_ERROR(ParseTargets(&n->targets));
      if (!IsName("in")) return Error("expected 'in' in a for loop, got " + Describe(Cur()));
      Next();
      AFTUNE_ASSIGN_OR_RETURN(n->expr, ParseTuple(false));
      if (IsName("if")) {
        Next();
        AFTUNE_ASSIGN_OR_RETURN(n->filter, ParseExpression(true));
      }
      if (IsName("recursive")) return Error("recursive for loops are not supported");
      AFTUNE_RETURN_IF_ERROR(ExpectStmtEnd());
      AFTUNE_ASSIGN_OR_RETURN(n->body, ParseLoopBody({"else", "endfor"}, &stop));
      if (stop == "else") {
        AFTUNE_RETURN_IF_ERROR(ExpectStmtEnd());
        AFTUNE_ASSIGN_OR_RETURN(n->else_body, ParseBody({"endfor"}, &stop));
      }
      AFTUNE_RETURN_IF_ERROR(ExpectStmtEnd());
    } else if (kw == "set") {
      AFTUNE_RETURN_IF_ERROR(ParseTargets(&n->targets));
      if (n->targets.size() == 1 && IsOp(".")) {
        Next();
        AFTUNE_ASSIGN_OR_RETURN(n->attr, ExpectName());
      }
      if (IsOp("=")) {
        n->kind = Node::Kind::kSet;
        Next();
        AFTUNE_ASSIGN_OR_RETURN(n->expr, ParseTuple(true));
        AFTUNE_RETURN_IF_ERROR(ExpectStmtEnd());
      } else {
        if (n->targets.size() != 1 || !n->attr.empty()) return Error("a block set assigns one plain name");
        n->kind = Node::Kind::kSetBlock;
        if (IsOp("|")) {
          AFTUNE_ASSIGN_OR_RETURN(n->filter, ParseFilterChain(nullptr));
        }
        AFTUNE_RETURN_IF_ERROR(ExpectStmtEnd());
        AFTUNE_ASSIGN_OR_RETURN(n->body, ParseBody({"endset"}, &stop));
        AFTUNE_RETURN_IF_ERROR(ExpectStmtEnd());
      }
    } else if (kw == "macro") {
      n->kind = Node::Kind::kMacro;
      AFTUNE_ASSIGN_OR_RETURN(n->name, ExpectName());
      AFTUNE_RETURN_IF_ERROR(Expect("("));
      while (!IsOp(")")) {
        AFTUNE_ASSIGN_OR_RETURN(std::string p, ExpectName());
        ExprPtr def;
        if (IsOp("=")) {
          Next();
          AFTUNE_ASSIGN_OR_RETURN(def, ParseExpression(true));
        }
        n->params.emplace_back(std::move(p), std::move(def));
        if (!IsOp(",")) break;
        Next();
      }
      AFTUNE_RETURN_IF_ERROR(Expect(")"));
      AFTUNE_RETURN_IF_ERROR(ExpectStmtEnd());
      AFTUNE_ASSIGN_OR_RETURN(n->body, ParseBody({"endmacro"}, &stop));
      AFTUNE_RETURN_IF_ERROR(ExpectStmtEnd());
    } else if (kw == "break" || kw == "continue") {
      if (loops_ == 0) return Error("'" + kw + "' outside a for loop");
      n->kind = kw == "break" ? Node::Kind::kBreak : Node::Kind::kContinue;
      AFTUNE_RETURN_IF_ERROR(ExpectStmtEnd());
    } else if (kw == "filter") {
      n->kind = Node::Kind::kFilterBlock;
      AFTUNE_ASSIGN_OR_RETURN(n->filter, ParseFilterChain(nullptr));
      AFTUNE_RETURN_IF_ERROR(ExpectStmtEnd());
      AFTUNE_ASSIGN_OR_RETURN(n->body, ParseBody({"endfilter"}, &stop));
      AFTUNE_RETURN_IF_ERROR(ExpectStmtEnd());
    } else if (kw == "generation") {
      n->kind = Node::Kind::kGeneration;
      AFTUNE_RETURN_IF_ERROR(ExpectStmtEnd());
      AFTUNE_ASSIGN_OR_RETURN(n->body, ParseBody({"endgeneration"}, &stop));
      AFTUNE_RETURN_IF_ERROR(ExpectStmtEnd());
    } else {
      pos_--;
      return Error("unsupported or unexpected statement '" + kw + "'");
    }
    return n;
  }

  // A loop's body: break and continue are allowed in it.
  Result<Body> ParseLoopBody(std::initializer_list<std::string_view> stops, std::string* stop) {
    ++loops_;
    auto r = ParseBody(stops, stop);
    --loops_;
    return r;
  }

  // name | name, name, ... | (name, name)
  Status ParseTargets(std::vector<std::string>* out) {
    bool paren = IsOp("(");
    if (paren) Next();
    while (true) {
      AFTUNE_ASSIGN_OR_RETURN(std::string n, ExpectName());
      out->push_back(std::move(n));
      if (!IsOp(",")) break;
      Next();
    }
    if (paren) AFTUNE_RETURN_IF_ERROR(Expect(")"));
    return Status::Ok();
  }

  // `| f(args) | g ...` (or `f | g` right after {% filter) applied to `input`.
  Result<ExprPtr> ParseFilterChain(ExprPtr input) {
    bool first = true;
    while (IsOp("|") || (first && Cur().type == T::kName)) {
      if (IsOp("|")) Next();
      first = false;
      AFTUNE_ASSIGN_OR_RETURN(input, ParseFilter(std::move(input)));
    }
    return input;
  }

  // ---- expressions ----

  // An expression, or a tuple (a list) of them separated by commas.
  Result<ExprPtr> ParseTuple(bool with_cond) {
    int line = Cur().line;
    AFTUNE_ASSIGN_OR_RETURN(ExprPtr first, ParseExpression(with_cond));
    if (!IsOp(",")) return first;
    auto list = Make(Expr::Kind::kList, line);
    list->args.push_back(std::move(first));
    while (IsOp(",")) {
      Next();
      if (Cur().type == T::kStmtEnd || Cur().type == T::kPrintEnd || IsName("if")) break;
      AFTUNE_ASSIGN_OR_RETURN(ExprPtr e, ParseExpression(with_cond));
      list->args.push_back(std::move(e));
    }
    return list;
  }

  Result<ExprPtr> ParseExpression(bool with_cond) {
    if (++depth_ > kMaxDepth) return Error("expression nested too deeply");
    Result<ExprPtr> r = with_cond ? ParseCond() : ParseOr();
    --depth_;
    return r;
  }

  Result<ExprPtr> ParseCond() {
    AFTUNE_ASSIGN_OR_RETURN(ExprPtr e, ParseOr());
    while (IsName("if")) {
      auto c = Make(Expr::Kind::kCond, Cur().line);
      Next();
      AFTUNE_ASSIGN_OR_RETURN(ExprPtr cond, ParseOr());
      ExprPtr alt;
      if (IsName("else")) {
        Next();
        AFTUNE_ASSIGN_OR_RETURN(alt, ParseExpression(true));
      }
      c->args.push_back(std::move(e));
      c->args.push_back(std::move(cond));
      c->args.push_back(std::move(alt));
      e = std::move(c);
    }
    return e;
  }

  Result<ExprPtr> Binary(ExprPtr l, std::string op, ExprPtr r, int line) {
    auto b = Make(Expr::Kind::kBinary, line);
    b->name = std::move(op);
    b->args.push_back(std::move(l));
    b->args.push_back(std::move(r));
    return b;
  }

  Result<ExprPtr> ParseOr() {
    AFTUNE_ASSIGN_OR_RETURN(ExprPtr e, ParseAnd());
    while (IsName("or")) {
      int line = Cur().line;
      Next();
      AFTUNE_ASSIGN_OR_RETURN(ExprPtr r, ParseAnd());
      AFTUNE_ASSIGN_OR_RETURN(e, Binary(std::move(e), "or", std::move(r), line));
    }
    return e;
  }

  Result<ExprPtr> ParseAnd() {
    AFTUNE_ASSIGN_OR_RETURN(ExprPtr e, ParseNot());
    while (IsName("and")) {
      int line = Cur().line;
      Next();
      AFTUNE_ASSIGN_OR_RETURN(ExprPtr r, ParseNot());
      AFTUNE_ASSIGN_OR_RETURN(e, Binary(std::move(e), "and", std::move(r), line));
    }
    return e;
  }

  Result<ExprPtr> ParseNot() {
    if (IsName("not")) {
      auto u = Make(Expr::Kind::kUnary, Cur().line);
      u->name = "not";
      Next();
      if (++depth_ > kMaxDepth) return Error("expression nested too deeply");
      AFTUNE_ASSIGN_OR_RETURN(ExprPtr e, ParseNot());
      --depth_;
      u->args.push_back(std::move(e));
      return u;
    }
    return ParseCompare();
  }

  Result<ExprPtr> ParseCompare() {
    int line = Cur().line;
    AFTUNE_ASSIGN_OR_RETURN(ExprPtr e, ParseMath1());
    ExprPtr cmp;
    while (true) {
      std::string op;
      if (Cur().type == T::kOp && (Cur().text == "==" || Cur().text == "!=" || Cur().text == "<" || Cur().text == ">" ||
                                   Cur().text == "<=" || Cur().text == ">=")) {
        op = Cur().text;
        Next();
      } else if (IsName("in")) {
        op = "in";
        Next();
      } else if (IsName("not") && Peek().type == T::kName && Peek().text == "in") {
        op = "not in";
        Next();
        Next();
      } else {
        break;
      }
      if (!cmp) {
        cmp = Make(Expr::Kind::kCompare, line);
        cmp->args.push_back(std::move(e));
      }
      AFTUNE_ASSIGN_OR_RETURN(ExprPtr r, ParseMath1());
      cmp->ops.push_back(std::move(op));
      cmp->args.push_back(std::move(r));
    }
    return cmp ? std::move(cmp) : std::move(e);
  }

  Result<ExprPtr> ParseMath1() {
    AFTUNE_ASSIGN_OR_RETURN(ExprPtr e, ParseConcat());
    while (IsOp("+") || IsOp("-")) {
      std::string op = Cur().text;
      int line = Cur().line;
      Next();
      AFTUNE_ASSIGN_OR_RETURN(ExprPtr r, ParseConcat());
      AFTUNE_ASSIGN_OR_RETURN(e, Binary(std::move(e), op, std::move(r), line));
    }
    return e;
  }

  Result<ExprPtr> ParseConcat() {
    AFTUNE_ASSIGN_OR_RETURN(ExprPtr e, ParseMath2());
    while (IsOp("~")) {
      int line = Cur().line;
      Next();
      AFTUNE_ASSIGN_OR_RETURN(ExprPtr r, ParseMath2());
      AFTUNE_ASSIGN_OR_RETURN(e, Binary(std::move(e), "~", std::move(r), line));
    }
    return e;
  }

  Result<ExprPtr> ParseMath2() {
    AFTUNE_ASSIGN_OR_RETURN(ExprPtr e, ParsePow());
    while (IsOp("*") || IsOp("/") || IsOp("//") || IsOp("%")) {
      std::string op = Cur().text;
      int line = Cur().line;
      Next();
      AFTUNE_ASSIGN_OR_RETURN(ExprPtr r, ParsePow());
      AFTUNE_ASSIGN_OR_RETURN(e, Binary(std::move(e), op, std::move(r), line));
    }
    return e;
  }

  Result<ExprPtr> ParsePow() {
    AFTUNE_ASSIGN_OR_RETURN(ExprPtr e, ParseUnary(true));
    while (IsOp("**")) {
      int line = Cur().line;
      Next();
      AFTUNE_ASSIGN_OR_RETURN(ExprPtr r, ParseUnary(true));
      AFTUNE_ASSIGN_OR_RETURN(e, Binary(std::move(e), "**", std::move(r), line));
    }
    return e;
  }

  Result<ExprPtr> ParseUnary(bool with_filter) {
    ExprPtr e;
    if (IsOp("-") || IsOp("+")) {
      e = Make(Expr::Kind::kUnary, Cur().line);
      e->name = Cur().text;
      Next();
      if (++depth_ > kMaxDepth) return Error("expression nested too deeply");
      AFTUNE_ASSIGN_OR_RETURN(ExprPtr operand, ParseUnary(false));
      --depth_;
      e->args.push_back(std::move(operand));
    } else {
      AFTUNE_ASSIGN_OR_RETURN(e, ParsePrimary());
    }
    AFTUNE_ASSIGN_OR_RETURN(e, ParsePostfix(std::move(e)));
    if (!with_filter) return e;
    while (true) {
      if (IsOp("|")) {
        Next();
        AFTUNE_ASSIGN_OR_RETURN(e, ParseFilter(std::move(e)));
      } else if (IsName("is")) {
        AFTUNE_ASSIGN_OR_RETURN(e, ParseTest(std::move(e)));
      } else if (IsOp("(")) {
        AFTUNE_ASSIGN_OR_RETURN(e, ParseCall(std::move(e)));
      } else {
        return e;
      }
    }
  }

  Result<ExprPtr> ParsePrimary() {
    const Token& tok = Cur();
    int line = tok.line;
    switch (tok.type) {
      case T::kName: {
        auto e = Make(Expr::Kind::kLiteral, line);
        if (tok.text == "true" || tok.text == "True") {
          e->value = Value::Bool(true);
        } else if (tok.text == "false" || tok.text == "False") {
          e->value = Value::Bool(false);
        } else if (tok.text == "none" || tok.text == "None") {
          e->value = Value::None();
        } else {
          e->kind = Expr::Kind::kName;
          e->name = tok.text;
        }
        Next();
        return e;
      }
      case T::kString: {
        std::string s;
        while (Cur().type == T::kString) {  // adjacent literals concatenate
          s += Cur().text;
          Next();
        }
        auto e = Make(Expr::Kind::kLiteral, line);
        e->value = Value::String(std::move(s));
        return e;
      }
      case T::kInt: {
        int64_t v = 0;
        auto [p, ec] = std::from_chars(tok.text.data(), tok.text.data() + tok.text.size(), v);
        if (ec != std::errc() || p != tok.text.data() + tok.text.size()) {
          return Error("integer literal " + tok.text + " out of range");
        }
        auto e = Make(Expr::Kind::kLiteral, line);
        e->value = Value::Int(v);
        Next();
        return e;
      }
      case T::kFloat: {
        auto e = Make(Expr::Kind::kLiteral, line);
        e->value = Value::Float(std::strtod(tok.text.c_str(), nullptr));
        Next();
        return e;
      }
      case T::kOp:
        if (tok.text == "(") {
          Next();
          if (IsOp(")")) {
            Next();
            return Make(Expr::Kind::kList, line);
          }
          AFTUNE_ASSIGN_OR_RETURN(ExprPtr e, ParseTuple(true));
          AFTUNE_RETURN_IF_ERROR(Expect(")"));
          return e;
        }
        if (tok.text == "[") {
          Next();
          auto e = Make(Expr::Kind::kList, line);
          while (!IsOp("]")) {
            AFTUNE_ASSIGN_OR_RETURN(ExprPtr item, ParseExpression(true));
            e->args.push_back(std::move(item));
            if (!IsOp(",")) break;
            Next();
          }
          AFTUNE_RETURN_IF_ERROR(Expect("]"));
          return e;
        }
        if (tok.text == "{") {
          Next();
          auto e = Make(Expr::Kind::kDict, line);
          while (!IsOp("}")) {
            AFTUNE_ASSIGN_OR_RETURN(ExprPtr k, ParseExpression(true));
            AFTUNE_RETURN_IF_ERROR(Expect(":"));
            AFTUNE_ASSIGN_OR_RETURN(ExprPtr v, ParseExpression(true));
            e->args.push_back(std::move(k));
            e->args.push_back(std::move(v));
            if (!IsOp(",")) break;
            Next();
          }
          AFTUNE_RETURN_IF_ERROR(Expect("}"));
          return e;
        }
        break;
      default:
        break;
    }
    return Error("unexpected " + Describe(tok) + " in an expression");
  }

  Result<ExprPtr> ParsePostfix(ExprPtr e) {
    while (true) {
      int line = Cur().line;
      if (IsOp(".")) {
        Next();
        if (Cur().type == T::kInt) {
          auto item = Make(Expr::Kind::kItem, line);
          auto idx = Make(Expr::Kind::kLiteral, line);
          idx->value = Value::Int(std::strtoll(Cur().text.c_str(), nullptr, 10));
          item->args.push_back(std::move(e));
          item->args.push_back(std::move(idx));
          e = std::move(item);
          Next();
          continue;
        }
        auto a = Make(Expr::Kind::kAttr, line);
        AFTUNE_ASSIGN_OR_RETURN(a->name, ExpectName());
        a->args.push_back(std::move(e));
        e = std::move(a);
      } else if (IsOp("[")) {
        Next();
        AFTUNE_ASSIGN_OR_RETURN(e, ParseSubscript(std::move(e), line));
      } else if (IsOp("(")) {
        AFTUNE_ASSIGN_OR_RETURN(e, ParseCall(std::move(e)));
      } else {
        return e;
      }
    }
  }

  // After '[': an index or a slice, up to and including ']'.
  Result<ExprPtr> ParseSubscript(ExprPtr target, int line) {
    ExprPtr bounds[3];
    bool slice = false;
    for (int part = 0; part < 3; ++part) {
      if (!IsOp(":") && !IsOp("]")) {
        AFTUNE_ASSIGN_OR_RETURN(bounds[part], ParseExpression(true));
      }
      if (!IsOp(":") || part == 2) break;
      slice = true;
      Next();
    }
    AFTUNE_RETURN_IF_ERROR(Expect("]"));
    auto e = Make(slice ? Expr::Kind::kSlice : Expr::Kind::kItem, line);
    e->args.push_back(std::move(target));
    if (!slice && !bounds[0]) return Error("empty subscript");
    for (int i = 0; i < (slice ? 3 : 1); ++i) e->args.push_back(std::move(bounds[i]));
    return e;
  }

  // '(' args ')' into e->args (after the callee / input) and e->kwargs.
  Status ParseCallArgs(Expr* e) {
    AFTUNE_RETURN_IF_ERROR(Expect("("));
    while (!IsOp(")")) {
      if (Cur().type == T::kName && Peek().type == T::kOp && Peek().text == "=") {
        std::string k = Cur().text;
        Next();
        Next();
        AFTUNE_ASSIGN_OR_RETURN(ExprPtr v, ParseExpression(true));
        e->kwargs.emplace_back(std::move(k), std::move(v));
      } else {
        if (!e->kwargs.empty()) return Error("positional argument after a keyword argument");
        AFTUNE_ASSIGN_OR_RETURN(ExprPtr v, ParseExpression(true));
        e->args.push_back(std::move(v));
      }
      if (!IsOp(",")) break;
      Next();
    }
    return Expect(")");
  }

  Result<ExprPtr> ParseCall(ExprPtr callee) {
    auto c = Make(Expr::Kind::kCall, Cur().line);
    c->args.push_back(std::move(callee));
    AFTUNE_RETURN_IF_ERROR(ParseCallArgs(c.get()));
    return c;
  }

  // At the filter's name (after '|').
  Result<ExprPtr> ParseFilter(ExprPtr input) {
    auto f = Make(Expr::Kind::kFilter, Cur().line);
    AFTUNE_ASSIGN_OR_RETURN(f->name, ExpectName());
    f->args.push_back(std::move(input));
    if (IsOp("(")) AFTUNE_RETURN_IF_ERROR(ParseCallArgs(f.get()));
    return f;
  }

  // At 'is'.
  Result<ExprPtr> ParseTest(ExprPtr input) {
    auto t = Make(Expr::Kind::kTest, Cur().line);
    Next();
    if (IsName("not")) {
      t->negated = true;
      Next();
    }
    AFTUNE_ASSIGN_OR_RETURN(t->name, ExpectName());
    t->args.push_back(std::move(input));
    if (IsOp("(")) {
      AFTUNE_RETURN_IF_ERROR(ParseCallArgs(t.get()));
    } else if ((Cur().type == T::kName || Cur().type == T::kString || Cur().type == T::kInt ||
                Cur().type == T::kFloat || IsOp("(") || IsOp("[") || IsOp("{")) &&
               !IsName("else") && !IsName("or") && !IsName("and")) {
      if (IsName("is")) return Error("a test cannot take 'is' as its argument");
      AFTUNE_ASSIGN_OR_RETURN(ExprPtr arg, ParsePrimary());
      AFTUNE_ASSIGN_OR_RETURN(arg, ParsePostfix(std::move(arg)));
      t->args.push_back(std::move(arg));
    }
    return t;
  }

  const std::vector<Token>& t_;
  size_t pos_ = 0;
  int depth_ = 0;
  int loops_ = 0;
};

}  // namespace

Result<Body> Parse(const std::vector<Token>& tokens) { return Parser(tokens).Template(); }

}  // namespace aftune::jinja
