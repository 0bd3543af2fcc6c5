// A conversation rendered with the model's chat template: see chat_render.h.
#include "model/chat_render.h"

namespace aftune {

Result<ChatRenderer> ChatRenderer::Create(ChatTemplateConfig cfg) {
  AFTUNE_CHECK(cfg.chat_template.has_value());
  Result<JinjaTemplate> t = JinjaTemplate::Parse(*cfg.chat_template);
  if (!t.ok()) return t.status().WithContext(cfg.template_source + ": chat_template");
  ChatRenderer r;
  r.cfg_ = std::move(cfg);
  r.template_ = std::move(t).value();
  return r;
}

Result<JinjaRendered> ChatRenderer::Render(const jinja::Value& messages, bool add_generation_prompt,
                                           const jinja::Value& tools, const JinjaRenderOptions& options) const {
  jinja::Dict vars = cfg_.Variables();
  vars.emplace_back("messages", messages);
  vars.emplace_back("tools", tools);
  vars.emplace_back("documents", jinja::Value::None());
  vars.emplace_back("add_generation_prompt", jinja::Value::Bool(add_generation_prompt));
  Result<JinjaRendered> r = template_.Render(vars, options);
  if (!r.ok()) return r.status().WithContext(cfg_.template_source + ": chat_template");
  return r;
}

Result<std::shared_ptr<const ChatRenderer>> LoadChatRenderer(const std::string& dir) {
  AFTUNE_ASSIGN_OR_RETURN(ChatTemplateConfig cfg, LoadChatTemplateConfig(dir));
  if (!cfg.chat_template) return std::shared_ptr<const ChatRenderer>();
  AFTUNE_ASSIGN_OR_RETURN(ChatRenderer r, ChatRenderer::Create(std::move(cfg)));
  return std::make_shared<const ChatRenderer>(std::move(r));
}

}  // namespace aftune
