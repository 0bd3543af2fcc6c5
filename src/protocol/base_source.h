// The base model as the auditor sees it: the BaseSource door (DESIGN.md,
// "Training audit": for a base the client may not see whole, the
// layer-block's base tensors with inclusion proofs against the base model's
// state digest).
//
// A cell of layer-block L is re-executed with L's base tensors, and the
// dataset is read with the base's tokenizer and chat template. Both come
// through a BaseSource: the client's own copy of the base (ModelDirBase, a
// model directory, whose whole state digest the audit computes and compares
// with the contract's), or the provider (client/remote_base.h: the small
// files, and one slice per layer-block, each tensor with its inclusion proof
// in the tree of the base's state digest).
//
// Trust: what a source that proves its slices returns is suspect. The audit
// checks the small files' digests against the contract before reading the
// dataset with them, and a slice's names, shapes and proofs against the
// contract's base state digest before re-executing with it
// (audit/block_base.h). A local slice comes from a directory the audit has
// digested whole.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "base/status.h"
#include "commit/merkle.h"
#include "model/llama_names.h"
#include "model/weight_files.h"

namespace aftune {

// Where a tensor's digest sits in the tree of the base's state digest.
struct SliceProof {
  uint64_t index = 0;   // its leaf: its position among the base's tensors ordered by name
  InclusionProof path;  // RFC 6962 PATH(index, D[tree_size])
};

// One layer-block's base tensors, as stored.
struct BaseSlice {
  // By name. Each view holds the tensor's stored bytes (dtype, shape) and is
  // valid while `owner` lives.
  WeightMap tensors;
  // A slice from outside: each tensor's proof in the tree of `tree_size`
  // leaves. A local slice: empty.
  std::map<std::string, SliceProof> proofs;
  uint64_t tree_size = 0;
  // Holds the bytes the views point into (a mapping, a received answer).
  std::shared_ptr<const void> owner;
};

class BaseSource {
 public:
  virtual ~BaseSource() = default;

  // How messages name the base: its directory, or the provider's URL of it.
  virtual const std::string& name() const = 0;
  // A directory holding the base's config.json and the tokenizer and chat
  // files it has (tokenizer.json or tokenizer.model; tokenizer_config.json,
  // chat_template.jinja), read with the model room's directory readers.
  // Valid while the source lives.
  virtual const std::string& files_dir() const = 0;
  // true: the source proves each slice and holds no state digest of the
  // whole base; false: it holds the whole base, whose state digest the audit
  // computes over files_dir()'s weights (DigestModelDir).
  virtual bool proves_slices() const = 0;
  // Layer-block `block`'s base tensors: those of BaseTensorShapes(config,
  // layers), `layers` being the run's blocks[block]. Errors name the source
  // and what was asked.
  virtual Result<BaseSlice> Slice(int64_t block, LayerSpan layers) = 0;
};

// The client's own copy of the base: a model directory, each slice its
// mapped tensors (LoadModelDir(dir, layers): only the slice's pages are read,
// and they are unmapped when the slice is dropped).
class ModelDirBase : public BaseSource {
 public:
  explicit ModelDirBase(std::string dir) : dir_(std::move(dir)) {}
  const std::string& name() const override { return dir_; }
  const std::string& files_dir() const override { return dir_; }
  bool proves_slices() const override { return false; }
  Result<BaseSlice> Slice(int64_t block, LayerSpan layers) override;

 private:
  std::string dir_;
};

}  // namespace aftune
