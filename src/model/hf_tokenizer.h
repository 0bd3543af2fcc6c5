// A Hugging Face tokenizer.json (the `tokenizers` library's format) run the
// way that library runs it:
//
//   text ─► added tokens matched (raw text) ─► normalizer (each stretch
//   between them) ─► added tokens matched (normalized text) ─► pre-tokenizer
//   ─► BPE model (each piece) ─► ids  [─► post-processor: special tokens]
//
// Encode(text) is transformers' tokenizer.encode(text,
// add_special_tokens=False): added tokens written in the text (special or
// not) become their ids, and no BOS/EOS is added. EncodeWithSpecialTokens
// applies the post-processor as add_special_tokens=True does (Llama 3's BOS).
// Decode is decode(ids, skip_special_tokens=True).
//
// What is read and what is refused: see model/bpe.h, normalizer.h,
// pretokenizer.h, post_processor.h, token_decoder.h and added_tokens.h; in
// short the BPE models of Llama 3.x, Qwen2.5, GPT-2, SmolLM2 and
// Mistral/Llama 2. `truncation` and `padding` must be null. Every refusal
// names the JSON path. Text that is not well-formed UTF-8 is read with each
// ill-formed sequence as U+FFFD (transformers only ever sees Python str).
//
// Immutable after construction; const methods may be called from several
// threads at once.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "model/added_tokens.h"
#include "model/bpe.h"
#include "model/normalizer.h"
#include "model/post_processor.h"
#include "model/pretokenizer.h"
#include "model/token_decoder.h"
#include "model/tokenizer.h"

namespace aftune {

class HfTokenizer final : public Tokenizer {
 public:
  // The ids tokenizer.json does not hold (they live in config.json), and the
  // model's vocabulary size, which may exceed the tokenizer's (padded
  // embeddings, e.g. Qwen2.5): ids without a token decode to nothing.
  struct Ids {
    int32_t bos = -1, eos = -1, pad = -1;
    int64_t vocab_size = 0;  // 0: the tokenizer's own
  };

  // Reads and parses `path`. Errors name the path and the JSON path; BOS and
  // EOS must be ids in the vocabulary, vocab_size at least the tokenizer's.
  static Result<std::unique_ptr<HfTokenizer>> Load(const std::string& path, const Ids& ids);
  // The same from the file's bytes; `source` names it in errors and is what
  // path() returns.
  static Result<std::unique_ptr<HfTokenizer>> FromBytes(std::string bytes, std::string source, const Ids& ids);

  std::string_view kind() const override { return "tokenizer.json"; }
  std::vector<int32_t> Encode(std::string_view text) const override;
  std::vector<int32_t> EncodeWithSpecialTokens(std::string_view text) const override;
  std::string Decode(std::span<const int32_t> ids) const override;
  std::optional<int32_t> TokenId(std::string_view token) const override;
  // Whether `id` is a special added token (what Decode skips).
  bool IsSpecial(int32_t id) const;
  int32_t bos_id() const override { return ids_.bos; }
  int32_t eos_id() const override { return ids_.eos; }
  int32_t pad_id() const override { return ids_.pad; }
  int64_t vocab_size() const override { return ids_.vocab_size; }
  const std::string& path() const override { return path_; }
  const std::string& file_bytes() const override { return bytes_; }

 private:
  HfTokenizer() = default;
  // Appends the ids of a stretch of text with no raw-matched added token.
  void EncodeStretch(std::string_view text, bool at_text_start, std::vector<int32_t>* ids) const;

  BpeModel model_;
  Normalizer normalizer_;
  PreTokenizer pre_tokenizer_;
  PostProcessor post_processor_;
  TokenDecoder decoder_;
  std::vector<AddedToken> added_;
  std::unordered_map<int32_t, size_t> added_by_id_;  // id -> index in added_
  std::unordered_map<std::string, int32_t> added_by_content_;
  std::unique_ptr<AddedTokenMatcher> raw_matcher_, normalized_matcher_;
  bool has_normalized_tokens_ = false;
  Ids ids_;
  std::string path_, bytes_;
};

}  // namespace aftune
