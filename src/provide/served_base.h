// A base model the audit service serves to auditors who do not hold it
// (aftune provide --model BASE): its small files, and for any layer span the
// base slice answer (protocol/base_slice.h), streamed from the mapped weight
// files rather than built in memory.
//
// Open digests the whole base once (every tensor's digest, its pages
// released after: about one tensor resident at a time), keeping the tensor
// digests, so that any tensor's inclusion proof is at hand and a run's
// contract can be checked against the base before anything of it is served.
//
// Thread safety: immutable after Open; every method may be called from many
// threads.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/contract.h"
#include "protocol/input_digest.h"

namespace aftune {

// A run of bytes of an answer, a view into a mapped weight file.
struct StreamPiece {
  std::span<const uint8_t> bytes;
  const SafetensorsFile* file = nullptr;  // to release its pages once sent
};

// A slice answer: `prefix`, then every piece's bytes in order.
struct SliceAnswer {
  std::string prefix;
  std::vector<StreamPiece> pieces;  // valid while the ServedBase lives
  uint64_t size() const;
};

class ServedBase {
 public:
  // Reads DIR (config.json, weight files, tokenizer, chat configuration) and
  // digests it. Errors name the file.
  static Result<std::unique_ptr<ServedBase>> Open(const std::string& dir);

  const std::string& dir() const { return dir_; }
  const Hash& state() const { return digests_.state; }
  const ModelConfig& config() const { return digests_.model_config; }

  // Ok when `contract` binds this base: its state digest, config.json,
  // tokenizer and chat template. kMismatch naming each that differs.
  Status CheckContract(const Contract& contract) const;

  // The bytes of the small file `name` (IsBaseFileName), as stored when the
  // base was opened. kNotFound when the base has no such file.
  Result<std::string_view> File(std::string_view name) const;

  // The slice answer of `layers`: BaseTensorShapes(config(), layers), each
  // as stored, with its proof. REQUIRES: layers within the model.
  Result<SliceAnswer> Slice(LayerSpan layers) const;

 private:
  ServedBase() = default;

  std::string dir_;
  ModelDirDigests digests_;
  std::unique_ptr<const WeightFiles> files_;  // mapped
  std::vector<Hash> leaves_;                  // LeafHash(tensor digest), tensors by name
  std::map<std::string, std::string> small_files_;
};

}  // namespace aftune
