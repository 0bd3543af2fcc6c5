// The Jinja lexer: template source -> tokens, with the whitespace rules of
// the environment transformers renders chat templates in.
//
//  - Newlines in the source ("\r\n", "\r", "\n") become "\n", and one
//    trailing newline of the source is dropped (keep_trailing_newline=False).
//  - `{{ expr }}` prints, `{% stmt %}` is a statement, `{# ... #}` a comment,
//    `{% raw %}...{% endraw %}` literal text.
//  - `{%-`, `{{-`, `{#-` strip all whitespace before the tag; `-%}`, `-}}`,
//    `-#}` all whitespace after it.
//  - trim_blocks: a newline right after `%}` or `#}` is dropped (not after
//    `+%}`); lstrip_blocks: spaces and tabs from the start of a line up to
//    `{%` or `{#` are dropped (not before `{%+`).
//
// Inside tags: names, integers, floats, strings ('...' or "..." with
// Python's escapes) and operators, each token carrying its source line.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace aftune::jinja {

struct Token {
  enum class Type { kText, kPrintBegin, kPrintEnd, kStmtBegin, kStmtEnd, kName, kString, kInt, kFloat, kOp, kEnd };
  Type type;
  std::string text;  // kText: the text; kString: the unescaped value; else the source spelling
  int line;          // 1-based line of the token's start
};

// Errors (InvalidArgument) name the line: an unclosed tag, string or
// comment, a character no token starts with.
Result<std::vector<Token>> Lex(std::string_view source);

}  // namespace aftune::jinja
