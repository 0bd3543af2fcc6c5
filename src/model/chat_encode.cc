// Assistant-only training tokens of a conversation: see chat_encode.h.
#include "model/chat_encode.h"

#include <utility>
#include <vector>

namespace aftune {

namespace {

using Spans = std::vector<std::pair<size_t, size_t>>;

Result<std::string> RenderText(const ChatRenderer& chat, const jinja::List& messages, bool generation_prompt) {
  AFTUNE_ASSIGN_OR_RETURN(JinjaRendered r, chat.Render(jinja::Value::MakeList(messages), generation_prompt));
  return std::move(r.text);
}

// The assistant turns of `full` found by rendering prefixes.
Result<Spans> PrefixSpans(const ChatRenderer& chat, const jinja::List& m, const std::string& full) {
  Spans spans;
  size_t covered = 0;
  for (size_t i = 0; i < m.size(); ++i) {
    const jinja::Value* role = m[i].Find("role");
    if (!role || !role->is_string() || role->as_string() != "assistant") continue;
    const std::string field = "messages[" + std::to_string(i) + "]";
    jinja::List before(m.begin(), m.begin() + i), through(m.begin(), m.begin() + i + 1);
    AFTUNE_ASSIGN_OR_RETURN(std::string prompt, RenderText(chat, before, true));
    AFTUNE_ASSIGN_OR_RETURN(std::string turn, RenderText(chat, through, false));
    if (turn.compare(0, prompt.size(), prompt) != 0 || full.compare(0, turn.size(), turn) != 0 ||
        prompt.size() < covered) {
      return Status::InvalidArgument(
          "field '" + field +
          "': the chat template is not prefix-stable here (rendering the conversation up to this assistant "
          "message is not a prefix of rendering it whole), so its loss mask cannot be found; mark the "
          "assistant turns with {% generation %} in the template");
    }
    if (turn.size() > prompt.size()) spans.emplace_back(prompt.size(), turn.size());
    covered = turn.size();
  }
  return spans;
}

}  // namespace

Result<ScoredTokens> EncodeChatWithTemplate(const Tokenizer& tok, const ChatRenderer& chat,
                                            const jinja::Value& messages) {
  if (!messages.is_list()) return Status::InvalidArgument("field 'messages' must be an array");
  AFTUNE_ASSIGN_OR_RETURN(JinjaRendered full, chat.Render(messages, false));
  Spans spans = full.generation_spans;
  if (spans.empty()) {
    AFTUNE_ASSIGN_OR_RETURN(spans, PrefixSpans(chat, messages.as_list(), full.text));
  }
  if (spans.empty()) return Status::InvalidArgument("field 'messages' has no assistant turn to train on");
  ScoredTokens out;
  auto put = [&](size_t begin, size_t end, bool scored) {
    if (end <= begin) return;
    std::vector<int32_t> ids = tok.Encode(std::string_view(full.text).substr(begin, end - begin));
    out.tokens.insert(out.tokens.end(), ids.begin(), ids.end());
    out.scored.insert(out.scored.end(), ids.size(), scored ? 1 : 0);
  };
  size_t at = 0;
  for (const auto& [b, e] : spans) {
    put(at, b, false);
    put(b, e, true);
    at = e;
  }
  put(at, full.text.size(), false);
  return out;
}

}  // namespace aftune
