#include "audit/block_base.h"

#include "audit/check_tally.h"
#include "commit/digest.h"
#include "commit/merkle.h"

namespace aftune {

namespace {

using nlohmann::json;

std::string ShapeText(const std::vector<int64_t>& shape) { return Tensor(shape).ShapeString(); }

// The slice's names and shapes against the block's.
void CheckTensorSet(const BaseSlice& slice, const std::map<std::string, std::vector<int64_t>>& want,
                    const std::string& whose, CheckTally* tally) {
  for (const auto& [name, shape] : want) {
    auto it = slice.tensors.find(name);
    if (!tally->Expect(it != slice.tensors.end(), whose + " lacks tensor " + name, {{"tensor", name}})) continue;
    tally->Expect(it->second.shape == shape,
                  whose + "'s tensor " + name + " has shape " + ShapeText(it->second.shape) + ", the block needs " +
                      ShapeText(shape),
                  {{"tensor", name}, {"expected", shape}, {"found", it->second.shape}});
  }
  for (const auto& [name, view] : slice.tensors)
    tally->Expect(want.count(name) > 0, whose + " holds tensor " + name + ", which the block does not use",
                  {{"tensor", name}});
}

// Each tensor's digest at its leaf under `root`.
void CheckProofs(const BaseSlice& slice, const Hash& root, const std::string& whose, CheckTally* tally) {
  for (const auto& [name, view] : slice.tensors) {
    auto proof = slice.proofs.find(name);
    if (!tally->Expect(proof != slice.proofs.end(), whose + "'s tensor " + name + " comes without its proof",
                       {{"tensor", name}}))
      continue;
    const std::vector<uint64_t> dims(view.shape.begin(), view.shape.end());
    const size_t size = static_cast<size_t>(view.numel()) * static_cast<size_t>(DTypeSize(view.dtype));
    const Hash digest = TensorDigest(name, DTypeName(view.dtype), dims, {static_cast<const uint8_t*>(view.data), size});
    const SliceProof& p = proof->second;
    Result<Hash> found = RootFromInclusionProof(p.index, slice.tree_size, LeafHash(digest), p.path);
    tally->Expect(found.ok() && *found == root,
                  whose + "'s tensor " + name + " (" + std::string(DTypeName(view.dtype)) + " " +
                      ShapeText(view.shape) + ") is not proven under the contract's base state digest" +
                      (found.ok() ? "" : ": " + found.status().message()),
                  {{"tensor", name},
                   {"tensor_digest", HashToHex(digest)},
                   {"leaf", p.index},
                   {"tree_size", slice.tree_size},
                   {"expected", HashToHex(root)},
                   {"found", found.ok() ? HashToHex(*found) : "(malformed proof)"}});
  }
}

}  // namespace

BlockBaseCache::Checked BlockBaseCache::Get(int64_t block, const std::string& check, std::optional<Cell> cell) {
  if (block_ != block) Load(block);
  return {passed_ ? &slice_.tensors : nullptr, AuditCheck{check, passed_, message_, cell, evidence_}};
}

void BlockBaseCache::Load(int64_t block) {
  slice_ = BaseSlice{};  // one block held at a time
  block_ = block;
  const LayerSpan layers = ctx_.blocks[static_cast<size_t>(block)];
  BaseSource& source = *ctx_.base;
  const std::string whose = "the base slice of block " + std::to_string(block) + " (layers [" +
                            std::to_string(layers.begin) + ", " + std::to_string(layers.end) + "))";
  Result<BaseSlice> slice = source.Slice(block, layers);
  if (!slice.ok()) {
    passed_ = false;
    message_ = whose + " could not be read from " + source.name() + ": " + slice.status().ToString();
    evidence_ = {{"block", block}};
    return;
  }
  slice_ = std::move(*slice);
  CheckTally tally("base");
  const auto want = BaseTensorShapes(ctx_.model, layers);
  CheckTensorSet(slice_, want, whose, &tally);
  if (source.proves_slices() && tally.ok()) CheckProofs(slice_, ctx_.contract.base_state_digest, whose, &tally);
  const AuditCheck done =
      tally.Done(source.proves_slices()
                     ? whose + ": its tensors proven under the contract's base state digest"
                     : whose + ": its tensors from " + source.name() + ", whose state digest is the contract's");
  passed_ = done.passed;
  message_ = done.message;
  evidence_ = done.evidence;
  evidence_["block"] = block;
  if (!passed_) slice_ = BaseSlice{};  // not used
}

}  // namespace aftune
