// The Jinja evaluator: walks a parsed template (jinja_ast.h) with Jinja's
// scoping, control flow and globals. model/jinja_template.h is its public
// face and states the semantics.
#pragma once

#include "base/status.h"
#include "model/jinja_ast.h"
#include "model/jinja_template.h"

namespace aftune::jinja {

// Every filter and test named in `body` exists (an unknown one is an error
// naming its line, as Jinja reports it when compiling).
Status CheckNames(const Body& body);

Result<JinjaRendered> Evaluate(const Body& body, const Dict& variables, const JinjaRenderOptions& options);

}  // namespace aftune::jinja
