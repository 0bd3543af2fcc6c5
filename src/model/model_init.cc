#include "model/model_init.h"

#include "model/lora.h"
#include "tensor/philox.h"

namespace aftune {

namespace {
ModelConfig ByteVocabConfig() {
  ModelConfig c;
  c.vocab_size = 259;  // bytes 0-255, BOS 256, EOS 257, PAD 258
  c.bos_token_id = 256;
  c.eos_token_id = 257;
  c.rms_norm_eps = 1e-5;
  c.rope_theta = 10000.0;
  return c;
}
}  // namespace

Result<ModelConfig> PresetConfig(const std::string& name) {
  ModelConfig c = ByteVocabConfig();
  if (name == "tiny") {
    c.hidden_size = 64;
    c.intermediate_size = 176;
    c.num_hidden_layers = 2;
    c.num_attention_heads = 4;
    c.num_key_value_heads = 2;
    c.head_dim = 16;
    c.max_position_embeddings = 256;
  } else if (name == "small") {
    c.hidden_size = 384;
    c.intermediate_size = 1024;
    c.num_hidden_layers = 8;
    c.num_attention_heads = 6;
    c.num_key_value_heads = 2;
    c.head_dim = 64;
    c.max_position_embeddings = 512;
  } else {
    return Status::InvalidArgument("unknown preset '" + name + "' (known: tiny, small)");
  }
  return c;
}

TensorMap InitModel(const ModelConfig& cfg, uint64_t seed) {
  TensorMap out;
  for (const auto& [name, shape] : BaseTensorShapes(cfg, WholeModel(cfg))) {
    Tensor t(shape);
    if (shape.size() == 1) {
      // Norm weights start at 1, biases at 0 (as transformers initialises them).
      t.Fill(name.ends_with(".bias") ? 0.0f : 1.0f);
    } else {
      Philox rng(seed, RandomPurpose::kWeightInit, TensorStream(name));
      for (int64_t i = 0; i < t.numel(); ++i) t[i] = 0.02f * rng.Normal(static_cast<uint64_t>(i));
    }
    out.emplace(name, std::move(t));
  }
  return out;
}

}  // namespace aftune
