#include "audit/audit_context.h"

#include "model/lora.h"
#include "protocol/trace_record.h"

namespace aftune {

std::map<std::string, std::vector<int64_t>> AuditContext::TrainableShapes(int64_t block) const {
  const LayerSpan span = blocks[static_cast<size_t>(block)];
  return cfg.full_finetune ? BaseTensorShapes(model, span) : LoraTensorShapes(model, cfg.lora, span);
}

Hash TensorMapStateDigest(const TensorMap& tensors) {
  std::vector<NamedDigest> digests;
  for (const auto& [name, t] : tensors) digests.push_back({name, F32TensorDigest(name, t)});
  Result<Hash> h = StateDigest(std::move(digests));
  AFTUNE_CHECK(h.ok());  // a map's names are distinct
  return *h;
}

}  // namespace aftune
