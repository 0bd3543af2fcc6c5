// Tensor names and shapes of a LLaMA-family decoder, in the Hugging Face
// transformers layout (LlamaForCausalLM's state dict), and the PEFT LoRA names.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "model/config.h"
#include "tensor/tensor.h"

namespace aftune {

using TensorMap = std::map<std::string, Tensor>;

// The seven projections of a decoder layer (LoRA targets).
enum class Proj { kQ, kK, kV, kO, kGate, kUp, kDown };
constexpr Proj kAllProjs[] = {Proj::kQ, Proj::kK, Proj::kV, Proj::kO, Proj::kGate, Proj::kUp, Proj::kDown};

// "q_proj", ..., "down_proj" (PEFT's target_modules names).
const char* ProjName(Proj p);
std::optional<Proj> ParseProj(const std::string& name);
// [out, in] of the projection's weight.
std::vector<int64_t> ProjShape(const ModelConfig& cfg, Proj p);
// Whether the architecture gives the projection a bias ([out]).
bool ProjHasBias(const ModelConfig& cfg, Proj p);

// A contiguous block of decoder layers [begin, end). The block with begin == 0
// also holds the embedding; the block with end == L the final norm, the head
// and the loss (DESIGN.md, "The audit grid").
struct LayerSpan {
  int64_t begin = 0, end = 0;
  bool has_embedding() const { return begin == 0; }
  bool has_head(const ModelConfig& cfg) const { return end == cfg.num_hidden_layers; }
};
inline LayerSpan WholeModel(const ModelConfig& cfg) { return {0, cfg.num_hidden_layers}; }

// Hugging Face names.
std::string EmbeddingName();                       // model.embed_tokens.weight
std::string FinalNormName();                       // model.norm.weight
std::string HeadName();                            // lm_head.weight
std::string InputNormName(int64_t layer);          // model.layers.N.input_layernorm.weight
std::string PostAttentionNormName(int64_t layer);  // model.layers.N.post_attention_layernorm.weight
std::string ProjWeightName(int64_t layer, Proj p); // model.layers.N.self_attn.q_proj.weight, ...
std::string ProjBiasName(int64_t layer, Proj p);   // model.layers.N.self_attn.q_proj.bias, ...
std::string QNormName(int64_t layer);              // model.layers.N.self_attn.q_norm.weight (qwen3)
std::string KNormName(int64_t layer);              // model.layers.N.self_attn.k_norm.weight (qwen3)
// PEFT names: base_model.model.model.layers.N.self_attn.q_proj.lora_A.weight
std::string LoraAName(int64_t layer, Proj p);
std::string LoraBName(int64_t layer, Proj p);

// Names and shapes of the base tensors a span needs (with tied embeddings the
// head block needs the embedding too): weights, the biases ProjHasBias says,
// q/k norms when cfg.qk_norm(). Ordered by name.
std::map<std::string, std::vector<int64_t>> BaseTensorShapes(const ModelConfig& cfg, LayerSpan span);

// The layer-block whose state holds a base tensor in full fine-tuning: its
// layer's block; the embedding the first block's, the final norm and head
// the last block's. A tied model's last block runs the embedding as its head
// but does not hold it in its state. REQUIRES: !blocks.empty(), a layer
// tensor's layer within them.
size_t OwningBlock(const std::string& name, const std::vector<LayerSpan>& blocks);
// The base tensors block k of `blocks` holds in its state: those of
// BaseTensorShapes(cfg, blocks[k]) that it owns.
std::map<std::string, std::vector<int64_t>> OwnedTensorShapes(const ModelConfig& cfg,
                                                               const std::vector<LayerSpan>& blocks, size_t k);

// Where a checkpoint holds a tensor: its file and its shape.
struct CheckpointTensor {
  std::string file;
  std::vector<int64_t> shape;
};
// Checks that a checkpoint holds exactly the whole model's base tensors
// (BaseTensorShapes of every layer) with their shapes: a tensor the config
// does not call for (e.g. a bias the architecture lacks, a tied model's
// lm_head) or of another shape is an error naming the tensor and its file;
// a missing one names the tensor and `checkpoint` (the file or index that
// lists the tensors).
Status CheckCheckpointTensors(const ModelConfig& cfg, const std::map<std::string, CheckpointTensor>& tensors,
                              const std::string& checkpoint);

// The layer a tensor name belongs to, or nullopt for embedding / norm / head.
std::optional<int64_t> LayerOfTensor(const std::string& name);

}  // namespace aftune
