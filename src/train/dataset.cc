// JSONL fine-tuning datasets (format v1; also docs/formats.md, "Datasets and
// the chat template").
//
// LINES. The file is split into lines by the dataset line rule that the
// dataset digest uses too (base/dataset_lines.h): at every LF; a CR right
// before an LF belongs to the ending; empty lines are skipped; every other
// line is one example, so example i is the i-th non-empty line and the i-th
// digest leaf. A line of only spaces is not empty: it is an error (not a
// JSON object). Line numbers in errors and in Example::line count every
// line, empty ones too, from 1, as an editor shows them.
//
// A LINE is one JSON object (RFC 8259), valid UTF-8 throughout, with no byte
// order mark, read by the strict reader of base/strict_json.h: no raw NUL, no
// key repeated within one object, nested at most 16 levels. Its shape is
// given by the keys it holds among "text", "prompt", "completion" and
// "messages"; other top-level keys (an "id", a "source", ...)
// are allowed and play no part (the digest still covers them). Every line of
// a file has the same shape.
//
//   {"text": T}                   T: non-empty string
//   {"prompt": P, "completion": C}  P: string (may be empty), C: non-empty string
//   {"messages": [M, ...]}        each M exactly {"role": R, "content": S}, no
//                                 other key; R "system" / "user" / "assistant";
//                                 S non-empty; the conversation grammar of
//                                 model/chat_template.h (optional system
//                                 first, then user/assistant alternating,
//                                 ending with assistant)
//
// TOKENS (BOS, EOS: the tokenizer's; Encode: Tokenizer::Encode; Special:
// Tokenizer::EncodeWithSpecialTokens, transformers' add_special_tokens=True,
// which starts with BOS for SentencePiece, the byte tokenizer, Llama 3 and
// Llama 2, and adds nothing for Qwen2.5 and GPT-2; "*" marks the loss
// targets, i.e. scored tokens; the first token is never scored):
//
//   text               Special(T)*  EOS*
//   prompt-completion  Special(P + C)  EOS*, the first |Special(P)| ids of
//                      Special(P + C) not scored and the rest scored: the
//                      text is encoded once, as transformers/TRL do, so a
//                      SentencePiece model puts no second word-boundary
//                      piece before the completion ("▁Paris", not "▁" "▁Paris")
//   messages           with the model's own chat template (DatasetOptions::chat):
//                      the rendered text, assistant turns scored
//                      (model/chat_encode.h); otherwise
//                      the chat template "llama2", model/chat_template.h:
//                      per exchange k (user_k, assistant_k):
//                        BOS  Encode("[INST] " + SYS + user_k + " [/INST]")
//                        Encode(assistant_k)*  EOS*
//                      SYS = "<<SYS>>\n" + system + "\n<</SYS>>\n\n" in
//                      exchange 0 when there is a system message, else "".
//
// The chat template's pieces are encoded separately and concatenated (for
// the byte tokenizer that equals encoding the concatenated text). Worked examples with the byte
// tokenizer (ids 0-255 bytes, BOS 256, EOS 257):
//
//   {"text":"hi"}                     tokens 256 104 105 257   scored 0 1 1 1
//   {"prompt":"a","completion":"b"}   tokens 256 97 98 257     scored 0 0 1 1
//
// LENGTH. An example longer than max_seq_len tokens is, by the options'
// overflow policy, an error naming the line ("reject") or cut to its first
// max_seq_len tokens ("truncate"; EOS is then lost; Example::truncated and
// Dataset::num_truncated report it). A truncated example with no scored token
// left is an error under either policy.
//
// ERRORS. Any bad line fails the whole load with "FILE:LINE: what", naming
// the field where there is one: not UTF-8, not JSON, not an object, mixed or
// missing shape, a field of the wrong type or empty, a bad role order, too
// long. A file with no non-empty line is an error too. Positions within the
// line: a UTF-8 error gives the 1-based column of the bad byte, a NUL the
// strict reader's 0-based byte offset ("NUL byte at byte 12" is column 13), a
// JSON syntax error the parser's "line 1, column C"; a repeated key its path
// ("key 'messages[0].role' appears twice").
#include "train/dataset.h"

#include "model/chat_encode.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "base/dataset_lines.h"
#include "base/file.h"
#include "base/strict_json.h"
#include "model/chat_template.h"
#include "tensor/cross_entropy.h"

namespace aftune {

namespace {

using Json = nlohmann::ordered_json;

constexpr int kMaxDepth = 16;

// The byte offset of the first byte that breaks UTF-8 (RFC 3629: shortest
// form, no surrogates, at most U+10FFFF), or npos when `s` is valid.
size_t FirstInvalidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF;  // the allowed range of the 2nd byte
    if (b >= 0xC2 && b <= 0xDF) {
      len = 2;
    } else if (b >= 0xE0 && b <= 0xEF) {
      len = 3;
      if (b == 0xE0) lo = 0xA0;  // no overlong forms
      if (b == 0xED) hi = 0x9F;  // no surrogates
    } else if (b >= 0xF0 && b <= 0xF4) {
      len = 4;
      if (b == 0xF0) lo = 0x90;  // no overlong forms
      if (b == 0xF4) hi = 0x8F;  // at most U+10FFFF
    } else {
      return i;
    }
    if (s.size() - i < len) return i;
    for (size_t k = 1; k < len; ++k) {
      const auto c = static_cast<unsigned char>(s[i + k]);
      if (c < (k == 1 ? lo : 0x80) || c > (k == 1 ? hi : 0xBF)) return i;
    }
    i += len;
  }
  return std::string_view::npos;
}

// One line by the strict reader (base/strict_json.h): a repeated key is
// refused naming its path ("key 'messages[0].role' appears twice"), as are a
// NUL byte, nesting deeper than kMaxDepth and trailing bytes. Kept in key
// order: a chat template sees it (tojson of a tool call).
Result<Json> ParseLine(std::string_view line) {
  StrictJsonOptions strict;
  strict.max_depth = kMaxDepth;
  strict.code = Status::Code::kInvalidArgument;
  return ParseStrictJsonAs<Json>(line, /*source=*/"", strict);
}

std::string Field(const std::string& name) { return "field '" + name + "'"; }

// The string at obj[key]; `nonempty` demands at least one byte.
Status GetString(const Json& obj, const std::string& key, const std::string& field, bool nonempty,
                 std::string* out) {
  auto it = obj.find(key);
  if (it == obj.end()) return Status::InvalidArgument(Field(field) + " is missing");
  if (!it->is_string() || (nonempty && it->get_ref<const std::string&>().empty())) {
    return Status::InvalidArgument(Field(field) + " must be a " + (nonempty ? "non-empty " : "") + "string");
  }
  *out = it->get<std::string>();
  // nlohmann already rejects ill-formed UTF-8 and lone surrogate escapes;
  // this keeps the guarantee independent of the parser.
  if (FirstInvalidUtf8(*out) != std::string_view::npos) {
    return Status::InvalidArgument(Field(field) + " is not valid UTF-8");
  }
  return Status::Ok();
}

Result<std::vector<ChatMessage>> GetMessages(const Json& obj) {
  const Json& arr = obj.at("messages");
  if (!arr.is_array() || arr.empty()) return Status::InvalidArgument("field 'messages' must be a non-empty array");
  std::vector<ChatMessage> msgs(arr.size());
  for (size_t i = 0; i < arr.size(); ++i) {
    const std::string name = "messages[" + std::to_string(i) + "]";
    const Json& m = arr[i];
    if (!m.is_object()) return Status::InvalidArgument(Field(name) + " must be an object");
    for (const auto& [k, v] : m.items()) {
      if (k != "role" && k != "content") {
        return Status::InvalidArgument(Field(name + "." + (k.size() <= 40 ? k : k.substr(0, 40) + "...")) +
                                       " is not allowed (a message holds only 'role' and 'content')");
      }
    }
    AFTUNE_RETURN_IF_ERROR(GetString(m, "role", name + ".role", false, &msgs[i].role));
    AFTUNE_RETURN_IF_ERROR(GetString(m, "content", name + ".content", true, &msgs[i].content));
  }
  return msgs;
}

// The shape a parsed object has, or an error.
Result<DatasetShape> ShapeOf(const Json& obj) {
  const bool text = obj.contains("text");
  const bool pc = obj.contains("prompt") || obj.contains("completion");
  const bool msgs = obj.contains("messages");
  if (text + pc + msgs > 1) {
    return Status::InvalidArgument(std::string("the line mixes shapes: it has ") +
                                   (text ? "'text' " : "") + (pc ? "'prompt'/'completion' " : "") +
                                   (msgs ? "'messages' " : "") + "fields; use exactly one");
  }
  if (text) return DatasetShape::kText;
  if (pc) return DatasetShape::kPromptCompletion;
  if (msgs) return DatasetShape::kMessages;
  return Status::InvalidArgument("no field 'text', 'prompt'/'completion' or 'messages'");
}

void Append(ScoredTokens* s, const std::vector<int32_t>& ids, bool scored) {
  s->tokens.insert(s->tokens.end(), ids.begin(), ids.end());
  s->scored.insert(s->scored.end(), ids.size(), scored ? 1 : 0);
}

// A messages line with the model's chat template, which sees the messages'
// keys in the order written.
Result<ScoredTokens> EncodeWithTemplate(const Json& obj, const Tokenizer& tok, const ChatRenderer& chat) {
  const Json& arr = obj.at("messages");
  if (!arr.is_array() || arr.empty()) return Status::InvalidArgument("field 'messages' must be a non-empty array");
  for (size_t i = 0; i < arr.size(); ++i) {
    if (!arr[i].is_object() || !arr[i].contains("role") || !arr[i]["role"].is_string()) {
      return Status::InvalidArgument(Field("messages[" + std::to_string(i) + "]") +
                                     " must be an object with a string 'role'");
    }
  }
  AFTUNE_ASSIGN_OR_RETURN(ScoredTokens s, EncodeChatWithTemplate(tok, chat, jinja::Value::FromJson(arr)));
  if (s.tokens.size() < 2 || s.scored[0] != 0) {
    return Status::InvalidArgument("the rendered conversation starts with an assistant turn: no token before it");
  }
  return s;
}

// Tokens and mask of a parsed line of shape `shape`.
Result<ScoredTokens> EncodeLine(const Json& obj, DatasetShape shape, const Tokenizer& tok,
                                const DatasetOptions& opts) {
  ScoredTokens s;
  switch (shape) {
    case DatasetShape::kText: {
      std::string text;
      AFTUNE_RETURN_IF_ERROR(GetString(obj, "text", "text", true, &text));
      Append(&s, tok.EncodeWithSpecialTokens(text), true);
      Append(&s, {tok.eos_id()}, true);
      s.scored[0] = 0;  // nothing precedes the first token: never a target
      return s;
    }
    case DatasetShape::kPromptCompletion: {
      std::string prompt, completion;
      AFTUNE_RETURN_IF_ERROR(GetString(obj, "prompt", "prompt", false, &prompt));
      AFTUNE_RETURN_IF_ERROR(GetString(obj, "completion", "completion", true, &completion));
      // TRL's completion mask: the joined text's ids, the prompt's share
      // (as many ids as the prompt alone encodes to) not scored.
      const std::vector<int32_t> joined = tok.EncodeWithSpecialTokens(prompt + completion);
      const size_t prompt_ids = std::min(tok.EncodeWithSpecialTokens(prompt).size(), joined.size());
      Append(&s, std::vector<int32_t>(joined.begin(), joined.begin() + prompt_ids), false);
      Append(&s, std::vector<int32_t>(joined.begin() + prompt_ids, joined.end()), true);
      Append(&s, {tok.eos_id()}, true);
      s.scored[0] = 0;  // nothing precedes the first token: never a target
      return s;
    }
    case DatasetShape::kMessages: {
      if (opts.chat) return EncodeWithTemplate(obj, tok, *opts.chat);
      AFTUNE_ASSIGN_OR_RETURN(std::vector<ChatMessage> msgs, GetMessages(obj));
      return EncodeChat(tok, msgs);
    }
  }
  AFTUNE_CHECK(false);
  return s;
}

// One non-empty line to an example, or an error without the FILE:LINE prefix.
// `*shape_line` is the line that fixed the file's shape (0: none yet).
Result<Example> ParseExample(std::string_view line, int64_t line_no, DatasetShape* file_shape, int64_t* shape_line,
                             const Tokenizer& tok, const DatasetOptions& opts) {
  if (size_t bad = FirstInvalidUtf8(line); bad != std::string_view::npos) {
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02x", static_cast<unsigned char>(line[bad]));
    return Status::InvalidArgument("not valid UTF-8: byte " + std::string(hex) + " at column " +
                                   std::to_string(bad + 1));
  }
  if (line.starts_with("\xEF\xBB\xBF")) return Status::InvalidArgument("starts with a byte order mark (U+FEFF)");
  AFTUNE_ASSIGN_OR_RETURN(Json obj, ParseLine(line));
  if (!obj.is_object()) return Status::InvalidArgument("not a JSON object");
  AFTUNE_ASSIGN_OR_RETURN(DatasetShape shape, ShapeOf(obj));
  if (*shape_line == 0) {
    *file_shape = shape;
    *shape_line = line_no;
  } else if (shape != *file_shape) {
    return Status::InvalidArgument("shape '" + std::string(DatasetShapeName(shape)) + "' differs from the file's '" +
                                   std::string(DatasetShapeName(*file_shape)) + "' (line " +
                                   std::to_string(*shape_line) + "); a file uses one shape throughout");
  }
  AFTUNE_ASSIGN_OR_RETURN(ScoredTokens s, EncodeLine(obj, shape, tok, opts));
  Example ex;
  ex.line = line_no;
  const auto n = static_cast<int64_t>(s.tokens.size());
  if (n > opts.max_seq_len) {
    if (opts.overflow == OverflowPolicy::kReject) {
      return Status::InvalidArgument("the example is " + std::to_string(n) + " tokens, more than max_seq_len " +
                                     std::to_string(opts.max_seq_len) + " (overflow policy 'reject')");
    }
    s.tokens.resize(static_cast<size_t>(opts.max_seq_len));
    s.scored.resize(static_cast<size_t>(opts.max_seq_len));
    ex.truncated = true;
  }
  ex.tokens = std::move(s.tokens);
  ex.scored = std::move(s.scored);
  AFTUNE_CHECK(ex.tokens.size() >= 2 && ex.scored[0] == 0);
  if (ex.num_scored() == 0) {
    return Status::InvalidArgument("no token is scored after truncation to max_seq_len " +
                                   std::to_string(opts.max_seq_len) + " (of " + std::to_string(n) + " tokens)");
  }
  return ex;
}

}  // namespace

std::string_view OverflowPolicyName(OverflowPolicy p) {
  return p == OverflowPolicy::kReject ? "reject" : "truncate";
}

Result<OverflowPolicy> ParseOverflowPolicy(std::string_view name) {
  if (name == "reject") return OverflowPolicy::kReject;
  if (name == "truncate") return OverflowPolicy::kTruncate;
  return Status::InvalidArgument("overflow policy must be 'reject' or 'truncate', not '" + std::string(name) + "'");
}

std::string_view DatasetShapeName(DatasetShape s) {
  switch (s) {
    case DatasetShape::kText: return "text";
    case DatasetShape::kPromptCompletion: return "prompt-completion";
    case DatasetShape::kMessages: return "messages";
  }
  return "?";
}

int64_t Example::num_scored() const {
  int64_t n = 0;
  for (uint8_t s : scored) n += s;
  return n;
}

Result<Dataset> ParseJsonlDataset(std::string_view text, const std::string& source, const Tokenizer& tok,
                                  const DatasetOptions& opts) {
  if (opts.max_seq_len < 2) {
    return Status::InvalidArgument("max_seq_len must be at least 2 (BOS and one token), not " +
                                   std::to_string(opts.max_seq_len));
  }
  Dataset ds;
  ds.source = source;
  int64_t shape_line = 0;
  for (const auto& [line_no, line] : SplitDatasetLines(text)) {
    Result<Example> ex = ParseExample(line, line_no, &ds.shape, &shape_line, tok, opts);
    if (!ex.ok()) return Status::InvalidArgument(source + ":" + std::to_string(line_no) + ": " + ex.status().message());
    ds.num_truncated += ex->truncated ? 1 : 0;
    ds.examples.push_back(std::move(*ex));
  }
  if (ds.examples.empty()) return Status::InvalidArgument(source + ": no examples (the file has no non-empty line)");
  return ds;
}

Result<Dataset> LoadJsonlDataset(const std::string& path, const Tokenizer& tok, const DatasetOptions& opts) {
  AFTUNE_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return ParseJsonlDataset(text, path, tok, opts);
}

PackedBatch MakeTrainingBatch(const Dataset& ds, const std::vector<int64_t>& indices) {
  PackedBatch b;
  b.starts.push_back(0);
  std::vector<int32_t> inputs, targets;
  for (int64_t idx : indices) {
    AFTUNE_CHECK(idx >= 0 && idx < ds.size());
    const Example& ex = ds.examples[static_cast<size_t>(idx)];
    const size_t n = ex.tokens.size();
    AFTUNE_CHECK(n >= 2 && ex.scored.size() == n);
    inputs.assign(ex.tokens.begin(), ex.tokens.end() - 1);
    targets.resize(n - 1);
    for (size_t t = 1; t < n; ++t) targets[t - 1] = ex.scored[t] ? ex.tokens[t] : kIgnoreIndex;
    b.Add(inputs, targets);
  }
  return b;
}

int64_t CountScoredTargets(const PackedBatch& batch) {
  int64_t n = 0;
  for (int32_t t : batch.targets) n += t != kIgnoreIndex ? 1 : 0;
  return n;
}

}  // namespace aftune
