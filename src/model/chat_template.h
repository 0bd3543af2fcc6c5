// The chat template (v1, "llama2"): how a conversation of system / user /
// assistant messages becomes token ids, with the loss on the assistant's
// words. Used by training (train/dataset.h, `{"messages": [...]}` lines) and
// by inference, which must lay out a prompt exactly as training did.
//
// Conversation grammar: an optional "system" message first, then "user" and
// "assistant" messages alternating, starting with "user". For training the
// last message is "assistant"; for an inference prompt it is "user". Every
// content is a non-empty string.
//
// Layout, modelled on LLaMA-2-chat: each user message and the assistant
// answer after it form one exchange k = 0, 1, ..., laid out as
//
//   BOS                                                     loss: no
//   Encode("[INST] " + SYS + user_k + " [/INST]")           loss: no
//   Encode(assistant_k)                                     loss: yes
//   EOS                                                     loss: yes
//
// where SYS = "<<SYS>>\n" + system + "\n<</SYS>>\n\n" in exchange 0 when a
// system message is present, else "". Every exchange, not only the first,
// starts with BOS, as LLaMA-2-chat's "<s>[INST] ... [/INST] ... </s>".
// The two Encode calls are made separately and their ids concatenated, so
// the loss mask falls exactly on a token boundary. Texts are used as given:
// nothing is trimmed or added. With the byte tokenizer the answer's bytes
// directly follow "[/INST]" (no space); a LLaMA-2 SentencePiece model puts
// its dummy-prefix space in front of the answer's first piece, which gives
// the same pieces as LLaMA-2's reference "[INST] u [/INST] a".
//
// Worked example (byte tokenizer), messages
//   [{"role":"user","content":"Hi"},{"role":"assistant","content":"Yo"}]
// give ids  256  "[INST] Hi [/INST]"(17 bytes)  'Y' 'o'  257
// and loss  no   no ...                         yes yes  yes.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "model/tokenizer.h"

namespace aftune {

inline constexpr std::string_view kChatTemplateName = "llama2";

struct ChatMessage {
  std::string role;     // "system", "user" or "assistant"
  std::string content;  // non-empty
};

// A token sequence and, per token, whether it is a loss target (predicted
// from the tokens before it). tokens.size() == scored.size().
struct ScoredTokens {
  std::vector<int32_t> tokens;
  std::vector<uint8_t> scored;  // 1: loss target, 0: context only
};

// The training layout of a conversation ending with an assistant message.
// Errors (InvalidArgument) name the offending field as
// "field 'messages[i].role' ..." or "field 'messages[i].content' ...".
Result<ScoredTokens> EncodeChat(const Tokenizer& tok, std::span<const ChatMessage> messages);

// The prompt for generating the next assistant answer: the layout above for
// a conversation ending with a user message, up to and including its
// "[/INST]" segment. The model continues with the answer and EOS.
Result<std::vector<int32_t>> EncodeChatPrompt(const Tokenizer& tok, std::span<const ChatMessage> messages);

}  // namespace aftune
