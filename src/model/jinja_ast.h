// The syntax tree of a parsed Jinja template (jinja_parser.h builds it,
// jinja_eval.h walks it). Every node keeps its source line for errors.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "model/jinja_value.h"

namespace aftune::jinja {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum class Kind {
    kLiteral,  // value
    kName,     // name
    kList,     // args: the items
    kDict,     // args: key, value, key, value, ...
    kAttr,     // args[0].name
    kItem,     // args[0][args[1]]
    kSlice,    // args[0][args[1]:args[2]:args[3]], each bound may be null
    kCall,     // args[0](args[1:], kwargs)
    kFilter,   // args[0] | name(args[1:], kwargs); args[0] null inside {% filter %} and block set
    kTest,     // args[0] is [not] name(args[1:])
    kUnary,    // op args[0]: "-", "+", "not"
    kBinary,   // args[0] op args[1]: + - * / // % ** ~ and or
    kCompare,  // args[0] ops[0] args[1] ops[1] args[2] ... (chained as Python's): == != < > <= >= in "not in"
    kCond,     // args[0] if args[1] else args[2] (args[2] null: Undefined)
  };
  Kind kind;
  int line;
  Value value;
  std::string name;              // kName, kAttr, kFilter, kTest; the operator of kUnary, kBinary
  std::vector<std::string> ops;  // kCompare
  bool negated = false;          // kTest: "is not"
  std::vector<ExprPtr> args;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
};

struct Node;
using Body = std::vector<std::unique_ptr<Node>>;

struct Node {
  enum class Kind {
    kText,      // text
    kPrint,     // {{ expr }}
    kIf,        // branches: (condition, body)...; a null condition is the else
    kFor,       // for targets in expr [if filter]: body [else: else_body]
    kSet,       // set targets = expr, or set targets[0].attr = expr (attr non-empty)
    kSetBlock,  // set targets[0] [| filters] %}body{% endset
    kMacro,     // macro name(params) body
    kBreak,
    kContinue,
    kFilterBlock,  // filter filters %}body{% endfilter
    kGeneration,   // {% generation %}body{% endgeneration %} (transformers' assistant-mask marker)
  };
  Kind kind;
  int line;
  std::string text;
  ExprPtr expr;
  ExprPtr filter;  // kFor: the loop filter; kSetBlock / kFilterBlock: the filter chain (innermost args[0] null)
  std::vector<std::string> targets;
  std::string attr;
  std::vector<std::pair<ExprPtr, Body>> branches;
  Body body, else_body;
  std::string name;                                     // kMacro
  std::vector<std::pair<std::string, ExprPtr>> params;  // kMacro: name, default (may be null)
};

}  // namespace aftune::jinja
