#include "model/tokenizer.h"

#include <sentencepiece_processor.h>

#include "base/file.h"
#include "model/hf_tokenizer.h"

namespace aftune {

std::vector<int32_t> Tokenizer::EncodeWithSpecialTokens(std::string_view text) const {
  std::vector<int32_t> ids{bos_id()};
  const std::vector<int32_t> body = Encode(text);
  ids.insert(ids.end(), body.begin(), body.end());
  return ids;
}

std::optional<int32_t> Tokenizer::TokenId(std::string_view) const { return std::nullopt; }

// ---- ByteTokenizer ----

std::vector<int32_t> ByteTokenizer::Encode(std::string_view text) const {
  std::vector<int32_t> ids;
  ids.reserve(text.size());
  for (unsigned char c : text) ids.push_back(c);
  return ids;
}

std::string ByteTokenizer::Decode(std::span<const int32_t> ids) const {
  std::string s;
  s.reserve(ids.size());
  for (int32_t id : ids) {
    AFTUNE_CHECK(id >= 0 && id < kVocabSize);
    if (id < 256) s.push_back(static_cast<char>(id));
  }
  return s;
}

const std::string& ByteTokenizer::path() const {
  static const std::string kNone;
  return kNone;
}

const std::string& ByteTokenizer::file_bytes() const { return path(); }

// ---- SentencePieceTokenizer ----

SentencePieceTokenizer::~SentencePieceTokenizer() = default;

Result<std::unique_ptr<SentencePieceTokenizer>> SentencePieceTokenizer::Load(const std::string& path) {
  AFTUNE_ASSIGN_OR_RETURN(std::string bytes, ReadFile(path));
  return FromBytes(std::move(bytes), path);
}

Result<std::unique_ptr<SentencePieceTokenizer>> SentencePieceTokenizer::FromBytes(std::string bytes,
                                                                                   std::string source) {
  std::unique_ptr<SentencePieceTokenizer> t(new SentencePieceTokenizer());
  t->sp_ = std::make_unique<sentencepiece::SentencePieceProcessor>();
  const sentencepiece::util::Status st = t->sp_->LoadFromSerializedProto(bytes);
  if (!st.ok()) {
    return Status::InvalidArgument(source + ": not a SentencePiece model: " + st.ToString());
  }
  t->vocab_ = t->sp_->GetPieceSize();
  t->bos_ = t->sp_->bos_id();
  t->eos_ = t->sp_->eos_id();
  t->pad_ = t->sp_->pad_id();
  if (t->vocab_ <= 0) return Status::InvalidArgument(source + ": SentencePiece model has no pieces");
  if (t->bos_ < 0) return Status::InvalidArgument(source + ": SentencePiece model has no BOS piece");
  if (t->eos_ < 0) return Status::InvalidArgument(source + ": SentencePiece model has no EOS piece");
  if (t->pad_ < 0) t->pad_ = -1;
  t->path_ = std::move(source);
  t->bytes_ = std::move(bytes);
  return t;
}

std::vector<int32_t> SentencePieceTokenizer::Encode(std::string_view text) const {
  std::vector<int> ids;
  // Encode fails only when no model is loaded, which construction rules out.
  AFTUNE_CHECK(sp_->Encode(text, &ids).ok());
  std::vector<int32_t> out(ids.begin(), ids.end());
  for (int32_t id : out) AFTUNE_CHECK(id >= 0 && id < vocab_);
  return out;
}

std::string SentencePieceTokenizer::Decode(std::span<const int32_t> ids) const {
  std::vector<int> v;
  v.reserve(ids.size());
  for (int32_t id : ids) {
    AFTUNE_CHECK(id >= 0 && id < vocab_);
    v.push_back(id);
  }
  std::string text;
  AFTUNE_CHECK(sp_->Decode(v, &text).ok());
  return text;
}

std::optional<int32_t> SentencePieceTokenizer::TokenId(std::string_view token) const {
  const int id = sp_->PieceToId(token);
  if (id < 0 || id >= vocab_ || sp_->IdToPiece(id) != token) return std::nullopt;
  return id;
}

// ---- LoadTokenizer ----

namespace {

Status CheckSpecialIds(const Tokenizer& t, const ModelConfig& cfg, const std::string& source) {
  if (t.bos_id() != cfg.bos_token_id) {
    return Status::InvalidArgument(source + ": tokenizer BOS id " + std::to_string(t.bos_id()) +
                                   " differs from config.json bos_token_id " + std::to_string(cfg.bos_token_id));
  }
  if (t.eos_id() != cfg.eos_token_id) {
    return Status::InvalidArgument(source + ": tokenizer EOS id " + std::to_string(t.eos_id()) +
                                   " differs from config.json eos_token_id " + std::to_string(cfg.eos_token_id));
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<Tokenizer>> LoadTokenizer(const std::string& model_dir, const ModelConfig& cfg) {
  const std::string hf_path = model_dir + "/tokenizer.json";
  if (FileExists(hf_path)) {
    const auto id32 = [](int64_t id) { return id >= 0 && id <= BpeModel::kMaxId ? static_cast<int32_t>(id) : -1; };
    HfTokenizer::Ids ids;
    ids.bos = id32(cfg.bos_token_id);
    ids.eos = id32(cfg.eos_token_id);
    ids.vocab_size = cfg.vocab_size;
    if (ids.bos < 0 || ids.eos < 0) {
      return Status::InvalidArgument(model_dir + "/config.json: bos_token_id and eos_token_id are required with " +
                                     hf_path);
    }
    AFTUNE_ASSIGN_OR_RETURN(std::unique_ptr<HfTokenizer> hf, HfTokenizer::Load(hf_path, ids));
    return std::unique_ptr<Tokenizer>(std::move(hf));
  }
  const std::string sp_path = model_dir + "/tokenizer.model";
  if (FileExists(sp_path)) {
    AFTUNE_ASSIGN_OR_RETURN(std::unique_ptr<SentencePieceTokenizer> sp, SentencePieceTokenizer::Load(sp_path));
    if (sp->vocab_size() != cfg.vocab_size) {
      return Status::InvalidArgument(sp_path + ": " + std::to_string(sp->vocab_size()) +
                                     " pieces, but config.json vocab_size is " + std::to_string(cfg.vocab_size));
    }
    AFTUNE_RETURN_IF_ERROR(CheckSpecialIds(*sp, cfg, sp_path));
    return std::unique_ptr<Tokenizer>(std::move(sp));
  }
  if (cfg.vocab_size != ByteTokenizer::kVocabSize) {
    return Status::NotFound(model_dir + ": holds neither tokenizer.json nor tokenizer.model, and config.json vocab_size " +
                            std::to_string(cfg.vocab_size) + " is not the byte tokenizer's " +
                            std::to_string(ByteTokenizer::kVocabSize));
  }
  auto byte = std::make_unique<ByteTokenizer>();
  AFTUNE_RETURN_IF_ERROR(CheckSpecialIds(*byte, cfg, model_dir + " (byte tokenizer, no tokenizer.model)"));
  return std::unique_ptr<Tokenizer>(std::move(byte));
}

}  // namespace aftune
