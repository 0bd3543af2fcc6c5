// Rendering a conversation with a model's own chat template, as
// transformers' apply_chat_template(messages, tools=..., tokenize=False,
// add_generation_prompt=...) does: the template (model/tokenizer_config.h)
// runs in aftune's Jinja interpreter (model/jinja_template.h) with the
// variables messages, tools (None when not given), documents (None),
// add_generation_prompt and the model's special tokens.
#pragma once

#include <memory>
#include <string>

#include "base/status.h"
#include "model/jinja_template.h"
#include "model/tokenizer_config.h"

namespace aftune {

class ChatRenderer {
 public:
  // REQUIRES: cfg.chat_template. Errors: the template does not parse (the
  // message names cfg.template_source and the template line).
  static Result<ChatRenderer> Create(ChatTemplateConfig cfg);

  // `messages`: a list of message objects, passed to the template as given;
  // `tools`: a list, or None. Errors name the template line.
  Result<JinjaRendered> Render(const jinja::Value& messages, bool add_generation_prompt,
                               const jinja::Value& tools = jinja::Value::None(),
                               const JinjaRenderOptions& options = {}) const;

  const ChatTemplateConfig& config() const { return cfg_; }

 private:
  ChatTemplateConfig cfg_;
  JinjaTemplate template_;
};

// The renderer of model directory `dir`'s chat template
// (LoadChatTemplateConfig), or null when it has none.
Result<std::shared_ptr<const ChatRenderer>> LoadChatRenderer(const std::string& dir);

}  // namespace aftune
