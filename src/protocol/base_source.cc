#include "protocol/base_source.h"

#include "model/model_dir.h"

namespace aftune {

Result<BaseSlice> ModelDirBase::Slice(int64_t, LayerSpan layers) {
  AFTUNE_ASSIGN_OR_RETURN(LoadedModel model, LoadModelDir(dir_, layers));
  auto held = std::make_shared<const LoadedModel>(std::move(model));
  BaseSlice slice;
  slice.tensors = held->params;  // views into the mapping and copies `held` keeps
  slice.owner = std::move(held);
  return slice;
}

}  // namespace aftune
