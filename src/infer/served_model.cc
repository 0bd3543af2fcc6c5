#include "infer/served_model.h"

#include <algorithm>

#include "model/adapter_dir.h"
#include "model/model_dir.h"

namespace aftune {

Result<std::unique_ptr<ServedModel>> LoadServedModel(const std::string& model_dir, const std::string& adapter_dir) {
  auto m = std::make_unique<ServedModel>();
  m->model_dir = model_dir;
  m->adapter_dir = adapter_dir;
  AFTUNE_ASSIGN_OR_RETURN(m->base, LoadModelDir(model_dir));
  m->config = m->base.config;
  if (!adapter_dir.empty()) {
    AFTUNE_ASSIGN_OR_RETURN(LoadedAdapter a, LoadAdapterDir(adapter_dir, m->config));
    m->lora = a.lora;
    m->adapter = std::move(a.tensors);
  }
  AFTUNE_ASSIGN_OR_RETURN(m->tokenizer, LoadTokenizer(model_dir, m->config));
  AFTUNE_ASSIGN_OR_RETURN(m->chat, LoadChatRenderer(model_dir));
  AFTUNE_ASSIGN_OR_RETURN(m->generation, LoadGenerationConfig(model_dir));
  m->default_sampling = DefaultSampling(m->generation);
  if (Status st = m->default_sampling.Validate(); !st.ok())
    return st.WithContext(model_dir + "/generation_config.json");
  std::vector<int64_t> eos = {m->tokenizer->eos_id()};
  if (m->config.eos_token_id >= 0) eos.push_back(m->config.eos_token_id);
  eos.insert(eos.end(), m->config.extra_eos_token_ids.begin(), m->config.extra_eos_token_ids.end());
  eos.insert(eos.end(), m->generation.eos_token_ids.begin(), m->generation.eos_token_ids.end());
  for (int64_t id : eos) {
    if (id >= m->config.vocab_size) {
      return Status::InvalidArgument(model_dir + ": end-of-sequence id " + std::to_string(id) +
                                     " is outside the vocabulary of " + std::to_string(m->config.vocab_size));
    }
    if (std::find(m->eos_ids.begin(), m->eos_ids.end(), id) == m->eos_ids.end()) m->eos_ids.push_back(static_cast<int32_t>(id));
  }
  AFTUNE_ASSIGN_OR_RETURN(m->decoder, Decoder::Create(m->config, m->lora, WholeModel(m->config), &m->base.params,
                                                      m->lora.enabled() ? &m->adapter : nullptr));
  return m;
}

}  // namespace aftune
