// The Jinja parser: tokens (jinja_lexer.h) -> syntax tree (jinja_ast.h).
//
// Statements: if/elif/else, for (tuple targets, `if` loop filter, else),
// set (to names, tuples, namespace attributes; block set with filters),
// macro, break/continue (the loopcontrols extension), filter blocks and
// transformers' {% generation %}. Expressions follow Jinja's precedence:
// conditional < or < and < not < comparisons and `in` < + - < ~ < * / // %
// < ** < unary - + < postfix (. [] () | is).
//
// Anything else (extends, include, import, call blocks, recursive loops,
// ...) is an error naming its line, never silently skipped.
#pragma once

#include <vector>

#include "base/status.h"
#include "model/jinja_ast.h"
#include "model/jinja_lexer.h"

namespace aftune::jinja {

Result<Body> Parse(const std::vector<Token>& tokens);

}  // namespace aftune::jinja
