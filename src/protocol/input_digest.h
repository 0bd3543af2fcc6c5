// Digests of a training job's inputs, as a training contract binds them
// (docs/formats.md, "Training contract"):
//
//   base model state   the state digest (commit/digest.h) of the tensors of
//                      DIR's weight files (model.safetensors, or the shards
//                      of model.safetensors.index.json) exactly as stored:
//                      each tensor's name, safetensors dtype name, shape and
//                      raw bytes; the sharding does not change it
//   base model config  SHA-256 of the bytes of DIR/config.json (the
//                      architecture is part of what is agreed)
//   tokenizer          its kind and a digest: "tokenizer.json" (Hugging
//                      Face tokenizers): SHA-256 of the bytes of
//                      DIR/tokenizer.json; "sentencepiece": SHA-256 of the
//                      bytes of DIR/tokenizer.model; "byte", the built-in
//                      byte tokenizer:
//                      SHA-256 of the 24 ASCII bytes "aftune byte tokenizer v1"
//                      = 66847138… (ByteTokenizerDigest)
//   chat template      when DIR has a chat template or special tokens
//                      (tokenizer_config.json, chat_template.jinja): SHA-256
//                      of ChatTemplateConfig::CanonicalBytes
//                      (model/tokenizer_config.h); else none
//   dataset            the dataset digest (commit/digest.h) of the JSONL
//                      file's bytes, and its number of non-empty lines
//                      (= examples, = leaves of the digest's tree)
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "commit/digest.h"
#include "commit/sha256.h"
#include "model/config.h"
#include "model/safetensors.h"
#include "model/tokenizer.h"
#include "model/tokenizer_config.h"
#include "model/weight_files.h"

namespace aftune {

// The text whose SHA-256 stands for the built-in byte tokenizer.
inline constexpr std::string_view kByteTokenizerDigestText = "aftune byte tokenizer v1";
Hash ByteTokenizerDigest();

// ByteTokenizerDigest() for the byte tokenizer, else SHA-256 of file_bytes().
Hash TokenizerDigest(const Tokenizer& tokenizer);

// Whether `kind` names a tokenizer a contract can bind: "byte",
// "sentencepiece" or "tokenizer.json" (Tokenizer::kind()).
bool IsTokenizerKind(std::string_view kind);
// What the digest of a tokenizer of `kind` in model directory `dir` is of:
// "DIR/tokenizer.json", "DIR/tokenizer.model", or for "byte"
// "DIR (no tokenizer file: the byte tokenizer)".
std::string TokenizerSource(const std::string& dir, std::string_view kind);

// SHA-256 of chat.CanonicalBytes(), or none when the model has neither a
// chat template nor special tokens.
std::optional<Hash> ChatDigest(const ChatTemplateConfig& chat);

// The state digest of every tensor of `file`, as stored.
Hash SafetensorsStateDigest(const SafetensorsFile& file);
// The tensor digest of every tensor of every weight file, as stored, in name
// order: the leaves of the state digest's tree. Each tensor's mapped pages
// are released once it is digested (ByteSource::ReleasePages), so digesting
// a model holds about one tensor resident, not the model.
std::vector<NamedDigest> WeightFilesTensorDigests(const WeightFiles& files);
// The state digest of every tensor of every weight file, as stored (the same
// as for one file holding them all).
Hash WeightFilesStateDigest(const WeightFiles& files);
// The state digest of the weights at `path`: a safetensors file, or a model
// directory (its weight files, either layout). Errors name the file.
Result<Hash> WeightsStateDigest(const std::string& path);

struct StoredTensorInfo {
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
};

struct ModelDirDigests {
  Hash state{};                // the weight files
  std::string weights;         // the path naming them (model.safetensors or the index)
  Hash config{};               // config.json
  std::string tokenizer_kind;  // IsTokenizerKind
  Hash tokenizer{};
  std::optional<Hash> chat;  // the chat template digest, when DIR has one
  // What the digests were computed from, for callers that check more.
  ModelConfig model_config;
  std::map<std::string, StoredTensorInfo> tensors;
  std::unique_ptr<Tokenizer> loaded_tokenizer;
};

// Reads DIR/config.json (which must be a configuration aftune runs),
// DIR's weight files (WeightFiles) and the directory's tokenizer
// (LoadTokenizer) and digests them. Errors name the file. Reads every weight
// byte once (mapped, so the weights never need to fit in memory).
Result<ModelDirDigests> DigestModelDir(const std::string& dir);
// The same without the weights (state, weights and tensors left empty):
// config.json, the tokenizer and the chat configuration alone, for a
// directory that holds a model's small files but not its weights.
Result<ModelDirDigests> DigestModelFiles(const std::string& dir);

struct DatasetDigests {
  Hash digest{};
  uint64_t examples = 0;  // non-empty lines
};

DatasetDigests DigestDatasetBytes(std::string_view file);
// ReadFile + DigestDatasetBytes; errors name the path.
Result<DatasetDigests> DigestDatasetFile(const std::string& path);

}  // namespace aftune
