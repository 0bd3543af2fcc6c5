#include "audit/audit_context.h"

#include "model/lora.h"
#include "protocol/trace_record.h"

namespace aftune {

std::map<std::string, std::vector<int64_t>> AuditContext::TrainableShapes(int64_t block) const {
  if (cfg.full_finetune) return OwnedTensorShapes(model, blocks, static_cast<size_t>(block));
  return LoraTensorShapes(model, cfg.lora, blocks[static_cast<size_t>(block)]);
}

Hash TensorMapStateDigest(const TensorMap& tensors) {
  std::vector<NamedDigest> digests;
  for (const auto& [name, t] : tensors) digests.push_back({name, F32TensorDigest(name, t)});
  Result<Hash> h = StateDigest(std::move(digests));
  AFTUNE_CHECK(h.ok());  // a map's names are distinct
  return *h;
}

}  // namespace aftune
