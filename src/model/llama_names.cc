#include "model/llama_names.h"

#include <cstdlib>

namespace aftune {

namespace {
struct ProjInfo {
  Proj proj;
  const char* name;
  const char* module;  // "self_attn" or "mlp"
};
constexpr ProjInfo kProjInfo[] = {
    {Proj::kQ, "q_proj", "self_attn"},   {Proj::kK, "k_proj", "self_attn"},
    {Proj::kV, "v_proj", "self_attn"},   {Proj::kO, "o_proj", "self_attn"},
    {Proj::kGate, "gate_proj", "mlp"},   {Proj::kUp, "up_proj", "mlp"},
    {Proj::kDown, "down_proj", "mlp"},
};
const ProjInfo& Info(Proj p) { return kProjInfo[static_cast<int>(p)]; }

// "[a, b]" without allocating a tensor of that shape.
std::string ShapeText(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

std::string LayerPrefix(int64_t layer) { return "model.layers." + std::to_string(layer) + "."; }
std::string ProjPath(int64_t layer, Proj p) {
  return LayerPrefix(layer) + Info(p).module + "." + Info(p).name;
}
}  // namespace

const char* ProjName(Proj p) { return Info(p).name; }

std::optional<Proj> ParseProj(const std::string& name) {
  for (const auto& i : kProjInfo)
    if (name == i.name) return i.proj;
  return std::nullopt;
}

std::vector<int64_t> ProjShape(const ModelConfig& cfg, Proj p) {
  const int64_t C = cfg.hidden_size, F = cfg.intermediate_size;
  switch (p) {
    case Proj::kQ: return {cfg.q_dim(), C};
    case Proj::kK:
    case Proj::kV: return {cfg.kv_dim(), C};
    case Proj::kO: return {C, cfg.q_dim()};
    case Proj::kGate:
    case Proj::kUp: return {F, C};
    case Proj::kDown: return {C, F};
  }
  return {};
}

bool ProjHasBias(const ModelConfig& cfg, Proj p) {
  switch (p) {
    case Proj::kQ:
    case Proj::kK:
    case Proj::kV: return cfg.qkv_bias();
    case Proj::kO: return cfg.o_bias();
    case Proj::kGate:
    case Proj::kUp:
    case Proj::kDown: return cfg.mlp_bias;
  }
  return false;
}

std::string EmbeddingName() { return "model.embed_tokens.weight"; }
std::string FinalNormName() { return "model.norm.weight"; }
std::string HeadName() { return "lm_head.weight"; }
std::string InputNormName(int64_t layer) { return LayerPrefix(layer) + "input_layernorm.weight"; }
std::string PostAttentionNormName(int64_t layer) {
  return LayerPrefix(layer) + "post_attention_layernorm.weight";
}
std::string ProjWeightName(int64_t layer, Proj p) { return ProjPath(layer, p) + ".weight"; }
std::string ProjBiasName(int64_t layer, Proj p) { return ProjPath(layer, p) + ".bias"; }
std::string QNormName(int64_t layer) { return LayerPrefix(layer) + "self_attn.q_norm.weight"; }
std::string KNormName(int64_t layer) { return LayerPrefix(layer) + "self_attn.k_norm.weight"; }
std::string LoraAName(int64_t layer, Proj p) { return "base_model.model." + ProjPath(layer, p) + ".lora_A.weight"; }
std::string LoraBName(int64_t layer, Proj p) { return "base_model.model." + ProjPath(layer, p) + ".lora_B.weight"; }

std::map<std::string, std::vector<int64_t>> BaseTensorShapes(const ModelConfig& cfg, LayerSpan span) {
  std::map<std::string, std::vector<int64_t>> shapes;
  const int64_t C = cfg.hidden_size, V = cfg.vocab_size;
  if (span.has_embedding()) shapes[EmbeddingName()] = {V, C};
  for (int64_t l = span.begin; l < span.end; ++l) {
    shapes[InputNormName(l)] = {C};
    shapes[PostAttentionNormName(l)] = {C};
    for (Proj p : kAllProjs) {
      shapes[ProjWeightName(l, p)] = ProjShape(cfg, p);
      if (ProjHasBias(cfg, p)) shapes[ProjBiasName(l, p)] = {ProjShape(cfg, p)[0]};
    }
    if (cfg.qk_norm()) {
      shapes[QNormName(l)] = {cfg.head_dim};
      shapes[KNormName(l)] = {cfg.head_dim};
    }
  }
  if (span.has_head(cfg)) {
    shapes[FinalNormName()] = {C};
    shapes[cfg.tie_word_embeddings ? EmbeddingName() : HeadName()] = {V, C};
  }
  return shapes;
}

size_t OwningBlock(const std::string& name, const std::vector<LayerSpan>& blocks) {
  AFTUNE_CHECK(!blocks.empty());
  if (std::optional<int64_t> layer = LayerOfTensor(name)) {
    for (size_t b = 0; b < blocks.size(); ++b)
      if (*layer >= blocks[b].begin && *layer < blocks[b].end) return b;
    AFTUNE_CHECK(false);
  }
  if (name == EmbeddingName()) return 0;
  return blocks.size() - 1;
}

std::map<std::string, std::vector<int64_t>> OwnedTensorShapes(const ModelConfig& cfg,
                                                               const std::vector<LayerSpan>& blocks, size_t k) {
  auto shapes = BaseTensorShapes(cfg, blocks.at(k));
  std::erase_if(shapes, [&](const auto& entry) { return OwningBlock(entry.first, blocks) != k; });
  return shapes;
}

Status CheckCheckpointTensors(const ModelConfig& cfg, const std::map<std::string, CheckpointTensor>& tensors,
                              const std::string& checkpoint) {
  const auto want = BaseTensorShapes(cfg, WholeModel(cfg));
  for (const auto& [name, t] : tensors) {
    auto it = want.find(name);
    if (it == want.end()) {
      return Status::InvalidArgument(t.file + ": tensor " + name + " is not part of the model config.json describes (" +
                                     ModelTypeName(cfg.model_type) + ")");
    }
    if (t.shape != it->second) {
      return Status::Corruption(t.file + ": tensor " + name + " has shape " + ShapeText(t.shape) +
                                " but config.json implies " + ShapeText(it->second));
    }
  }
  for (const auto& [name, shape] : want) {
    if (!tensors.count(name)) return Status::NotFound(checkpoint + ": tensor " + name + " is missing");
  }
  return Status::Ok();
}

std::optional<int64_t> LayerOfTensor(const std::string& name) {
  const std::string key = "model.layers.";
  size_t at = name.find(key);
  if (at == std::string::npos) return std::nullopt;
  return std::strtoll(name.c_str() + at + key.size(), nullptr, 10);
}

}  // namespace aftune
