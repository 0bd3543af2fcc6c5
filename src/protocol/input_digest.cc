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

namespace {
// The entry's digest; its pages are released after (a model is read once).
NamedDigest EntryDigest(const SafetensorsFile& file, const SafetensorsEntry& e) {
  std::vector<uint64_t> dims(e.shape.begin(), e.shape.end());  // the reader guarantees dims >= 0
  NamedDigest d{e.name, TensorDigest(e.name, DTypeName(e.dtype), dims, e.bytes)};
  file.ReleasePages(e.bytes);
  return d;
}
}  // namespace

std::optional<Hash> ChatDigest(const ChatTemplateConfig& chat) {
  if (!chat.chat_template && chat.special_tokens.empty() && chat.additional_special_tokens.empty()) return std::nullopt;
  return Sha256Of(chat.CanonicalBytes());
}

Hash SafetensorsStateDigest(const SafetensorsFile& file) {
  std::vector<NamedDigest> digests;
  digests.reserve(file.entries().size());
  for (const SafetensorsEntry& e : file.entries()) digests.push_back(EntryDigest(file, e));
  Result<Hash> state = StateDigest(std::move(digests));
  AFTUNE_CHECK(state.ok());  // the reader guarantees distinct names
  return *state;
}

std::vector<NamedDigest> WeightFilesTensorDigests(const WeightFiles& files) {
  std::vector<NamedDigest> digests;
  digests.reserve(files.tensors().size());
  for (const WeightFiles::Tensor& t : files.tensors()) digests.push_back(EntryDigest(*t.file, *t.entry));
  return digests;
}

Hash WeightFilesStateDigest(const WeightFiles& files) {
  Result<Hash> state = StateDigest(WeightFilesTensorDigests(files));
  AFTUNE_CHECK(state.ok());  // WeightFiles guarantees distinct names across files
  return *state;
}

Result<Hash> WeightsStateDigest(const std::string& path) {
  AFTUNE_ASSIGN_OR_RETURN(WeightFiles files, WeightFiles::OpenFileOrDir(path));
  return WeightFilesStateDigest(files);
}

bool IsTokenizerKind(std::string_view kind) {
  return kind == "byte" || kind == "sentencepiece" || kind == "tokenizer.json";
}

std::string TokenizerSource(const std::string& dir, std::string_view kind) {
  if (kind == "tokenizer.json") return dir + "/tokenizer.json";
  if (kind == "sentencepiece") return dir + "/tokenizer.model";
  return dir + " (no tokenizer file: the byte tokenizer)";
}

Result<ModelDirDigests> DigestModelFiles(const std::string& dir) {
  ModelDirDigests d;
  const std::string config_path = dir + "/config.json";
  AFTUNE_ASSIGN_OR_RETURN(std::string config_bytes, ReadFile(config_path));
  d.config = Sha256Of(config_bytes);
  // Parsed from the bytes just hashed, so the digest is of what is used.
  AFTUNE_ASSIGN_OR_RETURN(d.model_config, ParseModelConfig(config_bytes, config_path));
  AFTUNE_ASSIGN_OR_RETURN(std::unique_ptr<Tokenizer> tok, LoadTokenizer(dir, d.model_config));
  d.tokenizer_kind = std::string(tok->kind());
  d.tokenizer = TokenizerDigest(*tok);
  d.loaded_tokenizer = std::move(tok);
  AFTUNE_ASSIGN_OR_RETURN(ChatTemplateConfig chat, LoadChatTemplateConfig(dir));
  d.chat = ChatDigest(chat);
  return d;
}

Result<ModelDirDigests> DigestModelDir(const std::string& dir) {
  AFTUNE_ASSIGN_OR_RETURN(ModelDirDigests d, DigestModelFiles(dir));
  AFTUNE_ASSIGN_OR_RETURN(WeightFiles weights, WeightFiles::Open(dir));
  d.state = WeightFilesStateDigest(weights);
  d.weights = weights.listing_path();
  for (const WeightFiles::Tensor& t : weights.tensors()) d.tensors[t.entry->name] = {t.entry->dtype, t.entry->shape};
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
