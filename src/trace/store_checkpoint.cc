#include "trace/store_checkpoint.h"

namespace aftune {

std::string StoreStatesRef(const std::vector<Hash>& states) {
  std::string ref;
  for (const Hash& h : states) ref += (ref.empty() ? "" : ",") + HashToHex(h);
  return ref;
}

CheckpointTensorLoader StoreStatesLoader(const TensorStore& store) {
  return [&store](const std::string& ref) -> Result<TensorMap> {
    TensorMap all;
    size_t start = 0;
    while (start <= ref.size()) {
      size_t comma = ref.find(',', start);
      if (comma == std::string::npos) comma = ref.size();
      Result<Hash> h = HashFromHex(ref.substr(start, comma - start));
      if (!h.ok()) return Status::Corruption("tensors '" + ref + "' is not a list of state digests");
      AFTUNE_ASSIGN_OR_RETURN(TensorMap state, store.GetState(*h));
      for (auto& [name, t] : state)
        if (!all.emplace(name, std::move(t)).second)
          return Status::Corruption("tensor '" + name + "' is in two of the states " + ref);
      start = comma + 1;
    }
    return all;
  };
}

}  // namespace aftune
