// A training conversation with the model's own chat template: the token ids
// of the rendered text, with the loss on the assistant turns only, as TRL's
// SFTTrainer(assistant_only_loss=True) trains them.
//
// The assistant turns are found in the rendered text (ChatRenderer):
//  - a template with {% generation %} blocks marks them itself: the spans
//    those blocks write (transformers' return_assistant_tokens_mask);
//  - otherwise by rendering prefixes: for assistant message i, the turn is
//    the text that render(messages[:i+1]) adds to
//    render(messages[:i], add_generation_prompt=True), i.e. the answer and
//    the template's end-of-turn text (e.g. "Paris.<|im_end|>\n"). Every such
//    render must be a prefix of the next and of the whole conversation's; a
//    template that rewrites earlier turns (Qwen3 drops old reasoning) is an
//    error naming the message.
// The text is cut at the turns' edges and each piece encoded by its own
// Tokenizer::Encode call, so the mask falls on token boundaries; nothing is
// added (the template writes BOS and end-of-turn tokens itself, as
// apply_chat_template(tokenize=True) encodes without special tokens).
#pragma once

#include "base/status.h"
#include "model/chat_render.h"
#include "model/chat_template.h"
#include "model/tokenizer.h"

namespace aftune {

// `messages`: a list of message objects. Errors: no assistant message, a
// render error, a template that is not prefix-stable (naming messages[i]).
Result<ScoredTokens> EncodeChatWithTemplate(const Tokenizer& tok, const ChatRenderer& chat,
                                            const jinja::Value& messages);

}  // namespace aftune
