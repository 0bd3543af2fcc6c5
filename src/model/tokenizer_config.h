// What a model directory says about formatting conversations, as
// transformers reads it:
//
//   DIR/tokenizer_config.json   "chat_template": a string, or a list of
//                               {"name": ..., "template": ...} (the one named
//                               "default" is used), or absent / null;
//                               "bos_token", "eos_token", "unk_token",
//                               "sep_token", "pad_token", "cls_token",
//                               "mask_token": a string, an AddedToken object
//                               {"content": "...", ...} or null;
//                               "additional_special_tokens": a list of those.
//                               Other keys are tokenizer settings aftune's
//                               tokenizer reads (or ignores) and play no part here.
//   DIR/chat_template.jinja     when present, the template (transformers
//                               prefers it to tokenizer_config.json's).
//
// The special tokens become template variables under their own names, as
// apply_chat_template passes tokenizer.special_tokens_map (an unset token is
// no variable at all, so `bos_token is defined` is false for Qwen).
//
// Example: {"bos_token": {"content": "<s>", "lstrip": false}, "eos_token":
// "</s>", "chat_template": [{"name": "default", "template": "{{ bos_token }}"}]}
// gives template "{{ bos_token }}" and variables bos_token="<s>", eos_token="</s>".
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "model/jinja_template.h"

namespace aftune {

struct ChatTemplateConfig {
  // The template's source, when the model has one.
  std::optional<std::string> chat_template;
  // Where the template came from: "DIR/chat_template.jinja" or
  // "DIR/tokenizer_config.json"; empty without a template.
  std::string template_source;
  // (name, token text) of every special token set, in the order bos, eos,
  // unk, sep, pad, cls, mask; additional_special_tokens separately.
  std::vector<std::pair<std::string, std::string>> special_tokens;
  std::vector<std::string> additional_special_tokens;

  // The special tokens as template variables.
  jinja::Dict Variables() const;
  // A canonical encoding of everything above that changes formatting (the
  // template text and every special token), for the contract's tokenizer
  // digest: see docs/formats.md, "Tokenizer digest".
  std::string CanonicalBytes() const;
};

// Parses tokenizer_config.json text; `source` names it in errors, which
// name the field ("field 'chat_template[1].template' must be a string").
Result<ChatTemplateConfig> ParseTokenizerConfig(std::string_view json, const std::string& source);

// The chat configuration of model directory `dir`: its tokenizer_config.json
// (absent: no template, no special tokens) and chat_template.jinja.
Result<ChatTemplateConfig> LoadChatTemplateConfig(const std::string& dir);

}  // namespace aftune
