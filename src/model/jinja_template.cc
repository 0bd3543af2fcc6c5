// The Jinja interpreter's public face: lex, parse, check names; render.
#include "model/jinja_template.h"

#include "model/jinja_eval.h"
#include "model/jinja_lexer.h"
#include "model/jinja_parser.h"

namespace aftune {

Result<JinjaTemplate> JinjaTemplate::Parse(std::string_view source) {
  AFTUNE_ASSIGN_OR_RETURN(std::vector<jinja::Token> tokens, jinja::Lex(source));
  AFTUNE_ASSIGN_OR_RETURN(jinja::Body body, jinja::Parse(tokens));
  AFTUNE_RETURN_IF_ERROR(jinja::CheckNames(body));
  JinjaTemplate t;
  t.body_ = std::make_shared<const jinja::Body>(std::move(body));
  return t;
}

Result<JinjaRendered> JinjaTemplate::Render(const jinja::Dict& variables, const JinjaRenderOptions& options) const {
  AFTUNE_CHECK(body_ != nullptr);  // a template comes from Parse
  return jinja::Evaluate(*body_, variables, options);
}

}  // namespace aftune
