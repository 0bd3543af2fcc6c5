// The LLaMA-family decoder, forward and backward, over a span of layers.
//
// A Decoder runs one contiguous LayerSpan: the whole model, or one layer-block
// of the audit grid with only that block's weights loaded. Chaining the spans
// of a partition forward (and their backwards in reverse) gives results
// bit-identical to the whole-model pass: each span does exactly the same
// operations in the same order, and nothing crosses a span boundary but the
// [N, C] activation (forward) and its gradient (backward).
//
// Per layer (x [N, C]; each projection "P(y)" is y W^T (+ b) (+ LoRA)):
//   xn = RmsNorm(x);  q, k, v = Q(xn), K(xn), V(xn)
//   q, k = RmsNorm per head over D (qwen3's q_norm, k_norm);  RoPE(q, k)
//   x  = x + O(Attn(q, k, v));   xn = RmsNorm(x)     (Attn: causal, banded
//        by the sliding window when the config has one)
//   x  = x + Down(silu(Gate(xn)) * Up(xn))
// Which projections carry biases follows the config (ProjHasBias).
// Head: logits = RmsNorm(x) Whead^T (Whead = embedding when tied); loss = mean
// cross-entropy over targets != kIgnoreIndex.
//
// The backward in two halves. The data half carries the gradient down
// through the span (what the span below needs); the weight half accumulates
// the parameters' gradients from operands the data half computed (the dy of
// each projection and norm) and the forward's saved inputs. No data gradient
// reads a weight gradient, so the weight half may run later: data-parallel
// training (train/trainer.h, "Across ranks") runs the data halves of all its
// micro-batches first and then only the weight halves, which must follow the
// step's order, piece by piece. The weight half comes in pieces, in the order
// the backward reaches them: the head (final norm and head matrix, the
// embedding when tied), each layer from the top down, the embedding. Each
// weight-gradient element receives one contribution a micro-batch, from one
// piece (the tied embedding: head, then embedding), an fma or add chain over
// the micro-batch's rows in order, continuing the element's current value.
// BackwardScaled runs the halves interleaved, layer by layer (a piece right
// after its layer's data half), keeping one layer's operands at a time;
// BackwardData keeps every layer's, for AccumulatePiece. Either way every
// value computed is bit-identical.
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "model/batch.h"
#include "model/config.h"
#include "model/kv_cache.h"
#include "model/llama_names.h"
#include "model/lora.h"
#include "model/weight_files.h"
#include "tensor/attention.h"
#include "tensor/cross_entropy.h"
#include "tensor/rope.h"

namespace aftune {

struct LayerActivations;
struct LayerGradOperands;
struct BackwardScratch;

// What a forward pass saves for its backward, and what it produced. Buffers
// are reused from one pass to the next when the batch shape is unchanged.
struct Activations {
  // residual[i] is the input of the span's i-th layer; residual.back() the
  // span's output (the final norm's input in the last span).
  std::vector<Tensor> residual;
  Tensor logits;            // [N, V] (last span)
  CrossEntropyResult loss;  // (last span, when the batch has targets)
  std::vector<std::unique_ptr<LayerActivations>> layers;
  Tensor final_xn, final_rstd, lse;  // head: normed input, its rstd, softmax stats
  Tensor last_rows;                  // ForwardCached's last row per sequence (last_rows_only)
  std::unique_ptr<BackwardScratch> scratch;
  bool kept = false;  // the last Forward saved what Backward needs
  // The weight half's operands ("The backward in two halves"): per layer
  // after BackwardData, one set reused by BackwardScaled; the head's
  // d(logits) [N, V] and d(final norm output) [N, C]; d_input [N, C], the
  // gradient of the span's input (the embedding's output in the first span).
  std::vector<std::unique_ptr<LayerGradOperands>> layer_grads;
  Tensor dlogits, head_dxn, d_input;
  bool grads_kept = false;  // the last backward was BackwardData

  // The span's output activation [N, C] (non-last spans).
  const Tensor& output() const { return residual.back(); }

  Activations();
  ~Activations();
  Activations(Activations&&) noexcept;
  Activations& operator=(Activations&&) noexcept;
};

// Moves to `to` the buffers only the data half reads (the forward's
// temporaries: q, k, v, attention probabilities, o, gate, up, down, logits;
// the backward's scratch), leaving them empty in `from`, so that the
// micro-batches a rank keeps for AccumulatePiece share one set of them: the
// next Forward into `to` reuses them. REQUIRES: from's backward is done.
void MoveDataHalfBuffers(Activations* from, Activations* to);

class Decoder {
 public:
  // `params` holds every base tensor of the span (BaseTensorShapes) and, when
  // lora.enabled(), every adapter tensor (LoraTensorShapes), as f32. It is not
  // copied: it must outlive the Decoder and not change while one runs.
  // Errors name a missing tensor or a shape that does not match the config.
  static Result<std::unique_ptr<Decoder>> Create(const ModelConfig& cfg, const LoraConfig& lora,
                                                 LayerSpan span, const TensorMap* params);
  // The same with the base tensors and the adapter tensors in separate maps
  // (adapter may be null when LoRA is off); each is looked up in both.
  static Result<std::unique_ptr<Decoder>> Create(const ModelConfig& cfg, const LoraConfig& lora,
                                                 LayerSpan span, const TensorMap* base,
                                                 const TensorMap* adapter);
  // The same with the base tensors as stored (LoadedModel::params: bf16, f16
  // or f32 views). The projections, the head and the embedding are read in
  // place; a non-f32 norm or bias is widened once into the Decoder (a few
  // floats per layer; f32 ones are read in place, so full fine-tuning's
  // updates are seen). Results are bit-identical to f32 tensors holding the
  // widened values. The viewed memory must outlive the Decoder.
  static Result<std::unique_ptr<Decoder>> Create(const ModelConfig& cfg, const LoraConfig& lora,
                                                 LayerSpan span, const WeightMap* base,
                                                 const TensorMap* adapter);

  ~Decoder();
  const ModelConfig& config() const { return cfg_; }

  LayerSpan span() const { return span_; }

  // Runs the span. Input: batch.tokens (first span) or x_in [N, C] (others).
  // Output in acts: output() (non-last span) or logits and, if the batch has
  // targets, loss (last span). keep = false saves nothing for Backward.
  void Forward(const PackedBatch& batch, const Tensor* x_in, bool keep, Activations* acts) const;

  // Incremental forward for generation. Sequence s of the batch holds new
  // tokens at positions caches[s]->length() onward (batch.positions must say
  // so); their keys and values are appended to caches[s], which then advance.
  // Output as Forward's, nothing kept for Backward. Every output row is
  // bit-identical to the same row of a Forward over the whole sequence, and
  // does not depend on the other sequences in the batch.
  // With last_rows_only, logits are [S, V]: row s is that of sequence s's
  // last new row (what generation samples from; the same bits, as each row
  // of the head is computed alone), and the head skips the other rows.
  // REQUIRES: the span is the whole model; caches[s] has room for the tokens;
  // with last_rows_only, every sequence has a new token and no targets.
  void ForwardCached(const PackedBatch& batch, const std::vector<KvCache*>& caches, Activations* acts,
                     bool last_rows_only = false) const;

  // Backward of the last Forward recorded in acts. d_out: the gradient of the
  // span's output [N, C] (non-last span; the last span starts from its mean
  // loss with dloss = 1). Accumulates into the tensors of `grads` whose names
  // are parameters of the span (absent names are not trained and their
  // gradients not computed); d_in receives the gradient of x_in [N, C]
  // (non-first spans; may be null).
  void Backward(const PackedBatch& batch, const Tensor* d_out, Activations* acts, TensorMap* grads,
                Tensor* d_in) const;
  // The same, for the objective loss_sum_scale * (sum of this batch's token
  // losses) in the last span: gradient accumulation over micro-batches uses
  // 1 / (scored tokens of the whole optimizer step). Backward uses 1 / count.
  void BackwardScaled(const PackedBatch& batch, const Tensor* d_out, Activations* acts, TensorMap* grads,
                      Tensor* d_in, float loss_sum_scale) const;

  // A piece of the weight half (see the top of this file).
  struct GradPiece {
    enum class Kind { kHead, kLayer, kEmbedding };
    Kind kind = Kind::kHead;
    int64_t layer = 0;  // kLayer: the model's layer index
  };
  // The span's pieces, in the order its backward reaches them.
  std::vector<GradPiece> GradPieces() const;
  // Whether `piece` writes the gradient of tensor `name` (when trained).
  bool PieceWrites(const GradPiece& piece, const std::string& name) const;
  // The data half of BackwardScaled: d_in (as BackwardScaled's), with every
  // weight-gradient operand kept in acts until the next Forward into acts.
  void BackwardData(const PackedBatch& batch, const Tensor* d_out, Activations* acts, Tensor* d_in,
                    float loss_sum_scale) const;
  // The weight half of one piece of the last BackwardData into acts:
  // accumulates into `grads` as BackwardScaled would. REQUIRES: BackwardData
  // ran into acts (on this batch) since its Forward; each piece at most once.
  void AccumulatePiece(const GradPiece& piece, const PackedBatch& batch, const Activations& acts,
                       TensorMap* grads) const;

 private:
  struct Layer;
  Decoder(const ModelConfig& cfg, const LoraConfig& lora, LayerSpan span);
  void Run(const PackedBatch& batch, const Tensor* x_in, bool keep, const std::vector<KvCache*>* caches,
           bool last_rows_only, Activations* acts) const;
  void LayerForward(const Layer& L, const PackedBatch& b, const Tensor& x, const std::vector<KvCache*>* caches,
                    LayerActivations& a, Tensor& x_out) const;
  void CachedAttention(const Layer& L, const PackedBatch& b, const std::vector<KvCache*>& caches,
                       LayerActivations& a) const;
  // Both halves interleaved into grads, or (keep) the data half alone with
  // every layer's operands kept.
  void RunBackward(const PackedBatch& batch, const Tensor* d_out, Activations* acts, TensorMap* grads,
                   Tensor* d_in, float loss_sum_scale, bool keep) const;
  // From g.d_out (the gradient of the layer's output): the operands in g and
  // the gradient of the layer's input x into *dx.
  void LayerBackwardData(const Layer& L, const PackedBatch& b, const Tensor& x, LayerActivations& a,
                         LayerGradOperands& g, BackwardScratch& s, Tensor* dx) const;
  void LayerWeightGrads(const Layer& L, const PackedBatch& b, const Tensor& x, const LayerActivations& a,
                        const LayerGradOperands& g, TensorMap* grads) const;
  // x [rows, C]; targets: one per row, or null.
  void HeadForward(const Tensor& x, int64_t rows, const int32_t* targets, Activations* acts) const;
  AttentionDims Dims() const;
  // From the loss: acts->dlogits, acts->head_dxn and d(final norm input) into *dx.
  void HeadBackwardData(const PackedBatch& b, Activations* acts, Tensor* dx, float loss_sum_scale) const;
  void HeadWeightGrads(const PackedBatch& b, const Activations& acts, TensorMap* grads) const;
  void EmbeddingWeightGrads(const PackedBatch& b, const Activations& acts, TensorMap* grads) const;

  ModelConfig cfg_;
  LoraConfig lora_;
  LayerSpan span_;
  std::vector<Layer> layers_;
  StoredMatrix embedding_;  // [V, C]
  const float* final_norm_ = nullptr;
  StoredMatrix head_;       // [V, C] (the embedding when tied)
  std::deque<Tensor> widened_;  // non-f32 norms and biases, widened (stable addresses)
  RopeTable rope_;
};

}  // namespace aftune
