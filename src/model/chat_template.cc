// The chat template: see chat_template.h for the layout and a worked example.
#include "model/chat_template.h"

namespace aftune {

namespace {

std::string Field(size_t i, const char* name) {
  return "field 'messages[" + std::to_string(i) + "]." + name + "'";
}

// At most 40 bytes of an untrusted value, for an error message.
std::string Shown(const std::string& s) {
  return s.size() <= 40 ? s : s.substr(0, 40) + "...";
}

// "a 'user'", "an 'assistant'".
std::string Quoted(std::string_view role) {
  return std::string(role == "assistant" ? "an '" : "a '") + std::string(role) + "'";
}

// Checks the grammar; `last_role` is the role the conversation must end with.
Status CheckConversation(std::span<const ChatMessage> m, std::string_view last_role) {
  if (m.empty()) return Status::InvalidArgument("field 'messages' must be a non-empty array");
  std::string_view prev;  // "" at the start
  for (size_t i = 0; i < m.size(); ++i) {
    const std::string& role = m[i].role;
    if (role != "system" && role != "user" && role != "assistant") {
      return Status::InvalidArgument(Field(i, "role") + " must be 'system', 'user' or 'assistant', not '" +
                                     Shown(role) + "'");
    }
    if (role == "system" && i != 0) {
      return Status::InvalidArgument(Field(i, "role") + ": a 'system' message may only come first");
    }
    std::string_view want = prev == "user" ? "assistant" : "user";
    if (role != "system" && role != want) {
      return Status::InvalidArgument(Field(i, "role") + " must be '" + std::string(want) + "' after " +
                                     (prev.empty() ? std::string("the start") : Quoted(prev) + " message") +
                                     ", not '" + role + "'");
    }
    if (m[i].content.empty()) return Status::InvalidArgument(Field(i, "content") + " must be a non-empty string");
    prev = role;
  }
  if (prev != last_role) {
    return Status::InvalidArgument("field 'messages' must end with " + Quoted(last_role) + " message, not " +
                                   Quoted(prev) + " one");
  }
  return Status::Ok();
}

void Append(ScoredTokens* out, const std::vector<int32_t>& ids, bool scored) {
  out->tokens.insert(out->tokens.end(), ids.begin(), ids.end());
  out->scored.insert(out->scored.end(), ids.size(), scored ? 1 : 0);
}

// The layout of the whole (checked) conversation; a final user message ends
// the sequence after its "[/INST]" segment.
ScoredTokens Layout(const Tokenizer& tok, std::span<const ChatMessage> m) {
  ScoredTokens out;
  std::string sys;
  size_t i = 0;
  if (m[0].role == "system") {
    sys = "<<SYS>>\n" + m[0].content + "\n<</SYS>>\n\n";
    i = 1;
  }
  for (; i < m.size(); i += 2) {
    Append(&out, {tok.bos_id()}, false);
    Append(&out, tok.Encode("[INST] " + sys + m[i].content + " [/INST]"), false);
    sys.clear();
    if (i + 1 < m.size()) {
      Append(&out, tok.Encode(m[i + 1].content), true);
      Append(&out, {tok.eos_id()}, true);
    }
  }
  return out;
}

}  // namespace

Result<ScoredTokens> EncodeChat(const Tokenizer& tok, std::span<const ChatMessage> messages) {
  AFTUNE_RETURN_IF_ERROR(CheckConversation(messages, "assistant"));
  return Layout(tok, messages);
}

Result<std::vector<int32_t>> EncodeChatPrompt(const Tokenizer& tok, std::span<const ChatMessage> messages) {
  AFTUNE_RETURN_IF_ERROR(CheckConversation(messages, "user"));
  return Layout(tok, messages).tokens;
}

}  // namespace aftune
