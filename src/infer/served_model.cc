#include "infer/served_model.h"

#include "model/adapter_dir.h"
#include "model/model_dir.h"

namespace aftune {

Result<std::unique_ptr<ServedModel>> LoadServedModel(const std::string& model_dir, const std::string& adapter_dir) {
  auto m = std::make_unique<ServedModel>();
  m->model_dir = model_dir;
  m->adapter_dir = adapter_dir;
  AFTUNE_ASSIGN_OR_RETURN(LoadedModel loaded, LoadModelDir(model_dir));
  m->config = loaded.config;
  m->base = std::move(loaded.params);
  if (!adapter_dir.empty()) {
    AFTUNE_ASSIGN_OR_RETURN(LoadedAdapter a, LoadAdapterDir(adapter_dir, m->config));
    m->lora = a.lora;
    m->adapter = std::move(a.tensors);
  }
  AFTUNE_ASSIGN_OR_RETURN(m->tokenizer, LoadTokenizer(model_dir, m->config));
  AFTUNE_ASSIGN_OR_RETURN(m->chat, LoadChatRenderer(model_dir));
  AFTUNE_ASSIGN_OR_RETURN(m->decoder, Decoder::Create(m->config, m->lora, WholeModel(m->config), &m->base,
                                                      m->lora.enabled() ? &m->adapter : nullptr));
  m->decoder->CacheTransposedWeights();
  return m;
}

}  // namespace aftune
