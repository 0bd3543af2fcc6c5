// aftune chat render --model DIR --messages FILE [--add-generation-prompt]
//
// Prints the conversation of FILE (a JSON array of message objects, e.g.
// [{"role": "user", "content": "Hi"}]) rendered with DIR's chat template
// exactly as transformers' apply_chat_template(tokenize=False) renders it:
// the bytes of the text and nothing else (no newline added). FILE is read by
// the strict reader (base/strict_json.h): a repeated key, a NUL byte or
// trailing bytes are errors naming FILE.
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "base/file.h"
#include "base/strict_json.h"
#include "cli/commands.h"
#include "model/chat_render.h"

namespace aftune::cli {

namespace {

struct RenderArgs {
  std::string model, messages;
  bool add_generation_prompt = false;
};

Status RunRender(const RenderArgs& a) {
  AFTUNE_ASSIGN_OR_RETURN(ChatTemplateConfig cfg, LoadChatTemplateConfig(a.model));
  if (!cfg.chat_template) {
    return Status::InvalidArgument(a.model +
                                   " has no chat template (no chat_template in tokenizer_config.json, no "
                                   "chat_template.jinja); aftune formats its conversations with the default "
                                   "llama2 layout of docs/formats.md, which is defined on token ids");
  }
  AFTUNE_ASSIGN_OR_RETURN(ChatRenderer renderer, ChatRenderer::Create(std::move(cfg)));
  AFTUNE_ASSIGN_OR_RETURN(std::string text, ReadFile(a.messages));
  StrictJsonOptions strict;
  strict.code = Status::Code::kInvalidArgument;
  AFTUNE_ASSIGN_OR_RETURN(auto j, ParseStrictJsonAs<nlohmann::ordered_json>(text, a.messages, strict));
  if (!j.is_array()) return Status::InvalidArgument(a.messages + ": must be a JSON array of messages");
  for (size_t i = 0; i < j.size(); ++i) {
    if (!j[i].is_object() || !j[i].contains("role") || !j[i]["role"].is_string()) {
      return Status::InvalidArgument(a.messages + ": messages[" + std::to_string(i) +
                                     "] must be an object with a string 'role'");
    }
  }
  AFTUNE_ASSIGN_OR_RETURN(JinjaRendered r, renderer.Render(jinja::Value::FromJson(j), a.add_generation_prompt));
  if (std::fwrite(r.text.data(), 1, r.text.size(), stdout) != r.text.size() || std::fflush(stdout) != 0) {
    return Status::IOError("writing the rendered text to stdout failed");
  }
  return Status::Ok();
}

}  // namespace

void RegisterChatCommands(CLI::App& app) {
  CLI::App* chat = app.add_subcommand("chat", "conversations in a model's chat format");
  chat->require_subcommand(1);
  auto a = std::make_shared<RenderArgs>();
  CLI::App* render = chat->add_subcommand("render", "print a conversation rendered with the model's chat template");
  render->add_option("--model", a->model, "model directory (tokenizer_config.json / chat_template.jinja)")->required();
  render->add_option("--messages", a->messages, "JSON file: an array of {role, content} messages")->required();
  render->add_flag("--add-generation-prompt", a->add_generation_prompt,
                   "end with the prompt for the assistant's next answer");
  render->callback([a] { Finish(RunRender(*a)); });
}

}  // namespace aftune::cli
