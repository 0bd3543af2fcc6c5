// The base tensors a layer-block is re-executed with, checked before use
// (docs/audit.md, checks cell.base and state.initial), read through the
// audit's BaseSource (protocol/base_source.h).
//
// Every slice must hold exactly the block's base tensors
// (BaseTensorShapes(config, layers)) in their shapes. From a source that
// holds the whole base (its state digest compared with the contract's:
// inputs.base_model) that is all; from a source that proves its slices (the
// provider), every tensor must also be proven: its tensor digest (name,
// dtype, shape, bytes) at its leaf of the slice's tree under the contract's
// base state digest. A slice that fails is not used.
//
// One block's tensors are held at a time: asking for another block drops
// the last one first (cells run sorted by layer-block, so consecutive cells
// share it, fetched and checked once).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "audit/audit_context.h"
#include "audit/audit_report.h"
#include "protocol/base_source.h"

namespace aftune {

class BlockBaseCache {
 public:
  explicit BlockBaseCache(const AuditContext& ctx) : ctx_(ctx) {}

  struct Checked {
    const WeightMap* tensors = nullptr;  // null when the check failed
    AuditCheck check;                    // named `check`, for `cell`
  };
  // Layer-block `block`'s base tensors and their check. The tensors stay
  // valid until the next Get of another block.
  Checked Get(int64_t block, const std::string& check, std::optional<Cell> cell);

 private:
  // Fetches `block` and checks it into the members below.
  void Load(int64_t block);

  const AuditContext& ctx_;
  std::optional<int64_t> block_;
  BaseSlice slice_;
  bool passed_ = false;
  std::string message_;
  nlohmann::json evidence_;
};

}  // namespace aftune
