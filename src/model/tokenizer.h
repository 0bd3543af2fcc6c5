// Tokenizers: text <-> token ids.
//
// Three kinds, chosen by what a model directory holds (LoadTokenizer):
//
//   "tokenizer.json" a Hugging Face tokenizers file DIR/tokenizer.json, run as
//                    that library runs it (model/hf_tokenizer.h): Llama 3.x,
//                    Qwen2.5, GPT-2, SmolLM2, Mistral/Llama 2. BOS and EOS
//                    ids come from config.json.
//   "sentencepiece"  a SentencePiece model file DIR/tokenizer.model
//                    (LLaMA-2 style: BOS 1, EOS 2, UNK 0, usually no PAD),
//                    run through Debian's libsentencepiece. The model's own
//                    normalizer applies; for LLaMA-2 that includes the "dummy
//                    prefix": every Encode call starts its text with U+2581
//                    (a space), so Encode("a") + Encode("b") differs from
//                    Encode("ab"). Callers that build a sequence from several
//                    pieces (model/chat_template.h, train/dataset.h) say which
//                    pieces they encode separately.
//   "byte"           built in, used by the presets. Ids 0-255 are the bytes of
//                    the UTF-8 text, 256 is BOS, 257 is EOS, 258 is PAD
//                    (vocabulary of 259). Encode(text)[i] == (uint8_t)text[i].
//
// Encode never adds BOS or EOS; EncodeWithSpecialTokens adds what
// transformers' add_special_tokens=True adds.
// Every Tokenizer is immutable after construction, so its const methods may be
// called from several threads at once.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "model/config.h"

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace aftune {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // "byte", "sentencepiece" or "tokenizer.json".
  virtual std::string_view kind() const = 0;
  // The ids of `text`, without BOS or EOS. Every id is in [0, vocab_size()).
  // For "tokenizer.json" exactly transformers' encode(text,
  // add_special_tokens=False): added tokens written in the text (such as
  // "<|eot_id|>") are matched and become their ids.
  virtual std::vector<int32_t> Encode(std::string_view text) const = 0;
  // transformers' encode(text, add_special_tokens=True): for "tokenizer.json"
  // the file's post-processor (Llama 3 and Llama 2 prepend BOS, Qwen2.5 and
  // GPT-2 add nothing); for the others BOS followed by Encode(text). The one
  // rule for how a sequence starts that no chat template renders: text and
  // prompt/completion training examples (train/dataset.h) and completion
  // prompts (/v1/completions, aftune generate).
  virtual std::vector<int32_t> EncodeWithSpecialTokens(std::string_view text) const;
  // The id of the token whose string is `token` exactly (an added token such
  // as "<|im_end|>" or a vocabulary entry such as "Ġthe"), if any. The
  // byte tokenizer has no token strings and always answers nullopt.
  virtual std::optional<int32_t> TokenId(std::string_view token) const;
  // The text of `ids`; BOS, EOS, PAD and other control ids produce no text.
  // REQUIRES: every id in [0, vocab_size()).
  virtual std::string Decode(std::span<const int32_t> ids) const = 0;
  virtual int32_t bos_id() const = 0;  // always >= 0
  virtual int32_t eos_id() const = 0;  // always >= 0
  virtual int32_t pad_id() const = 0;  // -1 when the tokenizer has none
  virtual int64_t vocab_size() const = 0;
  // The file the tokenizer was loaded from ("" for the built-in byte
  // tokenizer), and that file's bytes exactly as read and parsed (empty for
  // the byte tokenizer). A contract hashes file_bytes(), which are the bytes
  // actually in use even if the file changes on disk afterwards.
  virtual const std::string& path() const = 0;
  virtual const std::string& file_bytes() const = 0;
};

// The built-in byte tokenizer. Stateless; the constants are usable without
// an instance.
class ByteTokenizer final : public Tokenizer {
 public:
  static constexpr int32_t kBos = 256, kEos = 257, kPad = 258, kVocabSize = 259;

  std::string_view kind() const override { return "byte"; }
  std::vector<int32_t> Encode(std::string_view text) const override;
  // Bytes of the ids below 256; BOS, EOS and PAD are dropped. The result is
  // the exact bytes, valid UTF-8 or not.
  std::string Decode(std::span<const int32_t> ids) const override;
  int32_t bos_id() const override { return kBos; }
  int32_t eos_id() const override { return kEos; }
  int32_t pad_id() const override { return kPad; }
  int64_t vocab_size() const override { return kVocabSize; }
  const std::string& path() const override;
  const std::string& file_bytes() const override;
};

// A SentencePiece model (a serialized ModelProto, the `.model` file).
class SentencePieceTokenizer final : public Tokenizer {
 public:
  // Reads and parses `path`. Errors name the path: unreadable, not a
  // SentencePiece model, or without a BOS or EOS piece.
  static Result<std::unique_ptr<SentencePieceTokenizer>> Load(const std::string& path);
  // The same from the file's bytes; `source` names it in errors and is what
  // path() returns.
  static Result<std::unique_ptr<SentencePieceTokenizer>> FromBytes(std::string bytes, std::string source);
  ~SentencePieceTokenizer() override;

  std::string_view kind() const override { return "sentencepiece"; }
  std::vector<int32_t> Encode(std::string_view text) const override;
  std::string Decode(std::span<const int32_t> ids) const override;
  // PieceToId, except that a string that is no piece gives nullopt, not UNK.
  std::optional<int32_t> TokenId(std::string_view token) const override;
  int32_t bos_id() const override { return bos_; }
  int32_t eos_id() const override { return eos_; }
  int32_t pad_id() const override { return pad_; }
  int64_t vocab_size() const override { return vocab_; }
  const std::string& path() const override { return path_; }
  const std::string& file_bytes() const override { return bytes_; }

 private:
  SentencePieceTokenizer() = default;
  std::unique_ptr<sentencepiece::SentencePieceProcessor> sp_;
  std::string path_, bytes_;
  int32_t bos_ = -1, eos_ = -1, pad_ = -1;
  int64_t vocab_ = 0;
};

// The tokenizer of the model directory `model_dir` whose config.json is `cfg`:
//  - DIR/tokenizer.json exists: that Hugging Face tokenizer, with BOS and EOS
//    cfg.bos_token_id and cfg.eos_token_id (both required, both tokens of
//    it) and ids up to cfg.vocab_size (which may exceed the tokenizer's own
//    count: padded embeddings).
//  - else DIR/tokenizer.model exists: that SentencePiece model. Its vocabulary
//    size must equal cfg.vocab_size, and its BOS and EOS ids
//    cfg.bos_token_id and cfg.eos_token_id.
//  - otherwise the byte tokenizer, which requires cfg.vocab_size == 259,
//    bos_token_id == 256 and eos_token_id == 257; any other vocabulary is an
//    error saying that the directory holds neither tokenizer file.
Result<std::unique_ptr<Tokenizer>> LoadTokenizer(const std::string& model_dir, const ModelConfig& cfg);

}  // namespace aftune
