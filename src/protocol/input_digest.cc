#include "protocol/input_digest.h"

#include <memory>

#include "base/file.h"
#include "commit/digest.h"

namespace aftune {

Hash ByteTokenizerDigest() { return Sha256Of(kByteTokenizerDigestText); }

Hash TokenizerDigest(const Tokenizer& tokenizer) {
  if (tokenizer.kind() == "byte") return ByteTokenizerDigest();
  return Sha256Of(tokenizer.file_bytes());
}

std::optional<Hash> ChatDigest(const ChatTemplateConfig& chat) {
  if (!chat.chat_template && chat.special_tokens.empty() && chat.additional_special_tokens.empty()) return std::nullopt;
  return Sha256Of(chat.CanonicalBytes());
}

Hash SafetensorsStateDigest(const SafetensorsFile& file) {
  std::vector<NamedDigest> digests;
  digests.reserve(file.entries().size());
  for (const SafetensorsEntry& e : file.entries()) {
    std::vector<uint64_t> dims(e.shape.begin(), e.shape.end());  // the reader guarantees dims >= 0
    digests.push_back({e.name, TensorDigest(e.name, DTypeName(e.dtype), dims, e.bytes)});
  }
  Result<Hash> state = StateDigest(std::move(digests));
  AFTUNE_CHECK(state.ok());  // the reader guarantees distinct names
  return *state;
}

Result<ModelDirDigests> DigestModelDir(const std::string& dir) {
  ModelDirDigests d;
  const std::string config_path = dir + "/config.json";
  AFTUNE_ASSIGN_OR_RETURN(std::string config_bytes, ReadFile(config_path));
  d.config = Sha256Of(config_bytes);
  // Parsed from the bytes just hashed, so the digest is of what is used.
  AFTUNE_ASSIGN_OR_RETURN(d.model_config, ParseModelConfig(config_bytes, config_path));
  AFTUNE_ASSIGN_OR_RETURN(SafetensorsFile weights, SafetensorsFile::Read(dir + "/model.safetensors"));
  d.state = SafetensorsStateDigest(weights);
  for (const SafetensorsEntry& e : weights.entries()) d.tensors[e.name] = {e.dtype, e.shape};
  AFTUNE_ASSIGN_OR_RETURN(std::unique_ptr<Tokenizer> tok, LoadTokenizer(dir, d.model_config));
  d.tokenizer_kind = std::string(tok->kind());
  d.tokenizer = TokenizerDigest(*tok);
  d.loaded_tokenizer = std::move(tok);
  AFTUNE_ASSIGN_OR_RETURN(ChatTemplateConfig chat, LoadChatTemplateConfig(dir));
  d.chat = ChatDigest(chat);
  return d;
}

DatasetDigests DigestDatasetBytes(std::string_view file) {
  return {DatasetDigest(file), DatasetLines(file).size()};
}

Result<DatasetDigests> DigestDatasetFile(const std::string& path) {
  AFTUNE_ASSIGN_OR_RETURN(std::string bytes, ReadFile(path));
  return DigestDatasetBytes(bytes);
}

}  // namespace aftune
