#include "model/decoder.h"

#include <algorithm>
#include <optional>

#include "model/linear.h"
#include "tensor/attention.h"
#include "tensor/embedding.h"
#include "tensor/gemm.h"
#include "tensor/mathfn.h"
#include "tensor/rmsnorm.h"
#include "tensor/swiglu.h"
#include "tensor/thread_pool.h"

namespace aftune {

// Saved by a layer's forward for its backward. Names follow decoder.h; the
// layer's input is Activations::residual[i].
struct LayerActivations {
  Tensor xn1, rstd1, q, k, v, probs, att, o, x_mid, xn2, rstd2, gate, up, h, down;
  Tensor q_pre, k_pre, rstd_q, rstd_k;  // before the q/k norms, and their rstd (qwen3)
  Tensor lora_u[7];  // x A^T per projection with an adapter, indexed by Proj
};

// A layer's operands of the weight half (decoder.h, "The backward in two
// halves"): the dy of each projection and norm, and the adapters' du.
struct LayerGradOperands {
  Tensor d_out;           // d(x_out) [N, C]: down's dy
  Tensor dgate, dup;      // [N, F]: gate's and up's dy
  Tensor dxn2;            // the post-attention norm's dy [N, C]
  Tensor dmid;            // d(x_mid) [N, C]: o's dy
  Tensor dq, dk, dv;      // after RoPE's backward: q's, k's (or the q/k norms') and v's dy
  Tensor dq_pre, dk_pre;  // q's and k's dy under the q/k norms (qwen3)
  Tensor dxn1;            // the input norm's dy [N, C]
  Tensor du[7];           // [N, R] per projection with an adapter, indexed by Proj
};

// The data half's temporaries, reused across layers and passes.
struct BackwardScratch {
  Tensor dh, datt, dnorm;
};

Activations::Activations() = default;
Activations::~Activations() = default;
Activations::Activations(Activations&&) noexcept = default;
Activations& Activations::operator=(Activations&&) noexcept = default;

void MoveDataHalfBuffers(Activations* from, Activations* to) {
  to->layers.resize(std::max(to->layers.size(), from->layers.size()));
  for (size_t i = 0; i < from->layers.size(); ++i) {
    if (!to->layers[i]) to->layers[i] = std::make_unique<LayerActivations>();
    LayerActivations &a = *from->layers[i], &b = *to->layers[i];
    for (Tensor LayerActivations::*t : {&LayerActivations::q, &LayerActivations::k, &LayerActivations::v,
                                        &LayerActivations::probs, &LayerActivations::o, &LayerActivations::gate,
                                        &LayerActivations::up, &LayerActivations::down})
      b.*t = std::move(a.*t);
  }
  to->logits = std::move(from->logits);
  to->lse = std::move(from->lse);
  to->scratch = std::move(from->scratch);
}

struct Decoder::Layer {
  int64_t index = 0;
  const float* input_norm = nullptr;  // [C]
  const float* post_norm = nullptr;
  const float* q_norm = nullptr;  // [D] (qwen3)
  const float* k_norm = nullptr;
  LinearWeights proj[7];  // indexed by Proj
};

namespace {

// The tensors a decoder reads: the base model's (as stored) and, with LoRA,
// the adapter's (f32).
struct ParamMaps {
  const WeightMap* base;
  const TensorMap* adapter;
  std::optional<WeightView> Find(const std::string& name) const {
    if (auto it = base->find(name); it != base->end()) return it->second;
    if (adapter == nullptr) return std::nullopt;
    if (auto it = adapter->find(name); it != adapter->end())
      return WeightView{DType::kF32, it->second.shape(), it->second.data()};
    return std::nullopt;
  }
};

// "[2, 3]", as Tensor::ShapeString (without allocating one).
std::string ShapeText(const std::vector<int64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

Status CheckTensor(const ParamMaps& params, const std::string& name, const std::vector<int64_t>& shape,
                   WeightView* out) {
  std::optional<WeightView> t = params.Find(name);
  if (!t) return Status::NotFound("tensor " + name + " is missing");
  if (t->shape != shape) {
    return Status::InvalidArgument("tensor " + name + " has shape " + ShapeText(t->shape) + ", the config needs " +
                                   ShapeText(shape));
  }
  *out = *t;
  return Status::Ok();
}

Tensor* GradFor(TensorMap* grads, const std::string& name) {
  if (grads == nullptr) return nullptr;
  auto it = grads->find(name);
  return it == grads->end() ? nullptr : &it->second;
}

// out = a + b elementwise (out may alias a).
void Add(const Tensor& a, const Tensor& b, Tensor& out) {
  const float* ad = a.data();
  const float* bd = b.data();
  float* od = out.data();
  DefaultPool().ParallelFor(a.numel(), 1 << 14, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) od[i] = ad[i] + bd[i];
  });
}

// out[n] = table[ids[n]] widened: EmbeddingForward over a stored table (the
// same copy for f32; exact widening otherwise).
void EmbeddingRows(StoredMatrix table, const int32_t* ids, float* out, int64_t N, int64_t V, int64_t C) {
  if (table.dtype == DType::kF32) {
    EmbeddingForward(static_cast<const float*>(table.data), ids, out, N, V, C);
    return;
  }
  DefaultPool().ParallelFor(N, 64, [&](int64_t begin, int64_t end) {
    for (int64_t n = begin; n < end; ++n) {
      AFTUNE_CHECK(ids[n] >= 0 && ids[n] < V);
      for (int64_t c = 0; c < C; ++c) out[n * C + c] = table.At(ids[n], c);
    }
  });
}

int64_t Rows(const PackedBatch& b) { return b.num_tokens(); }

}  // namespace

Decoder::Decoder(const ModelConfig& cfg, const LoraConfig& lora, LayerSpan span)
    : cfg_(cfg), lora_(lora), span_(span) {}
Decoder::~Decoder() = default;

Result<std::unique_ptr<Decoder>> Decoder::Create(const ModelConfig& cfg, const LoraConfig& lora,
                                                 LayerSpan span, const TensorMap* params) {
  return Create(cfg, lora, span, params, nullptr);
}

Result<std::unique_ptr<Decoder>> Decoder::Create(const ModelConfig& cfg, const LoraConfig& lora,
                                                 LayerSpan span, const TensorMap* base, const TensorMap* adapter) {
  const WeightMap views = ViewsOf(*base);  // the decoder keeps only pointers into *base
  return Create(cfg, lora, span, &views, adapter);
}

Result<std::unique_ptr<Decoder>> Decoder::Create(const ModelConfig& cfg, const LoraConfig& lora,
                                                 LayerSpan span, const WeightMap* base, const TensorMap* adapter) {
  const ParamMaps params{base, adapter};
  AFTUNE_RETURN_IF_ERROR(cfg.Validate());
  if (span.begin < 0 || span.end > cfg.num_hidden_layers || span.begin >= span.end)
    return Status::InvalidArgument("layer span [" + std::to_string(span.begin) + ", " +
                                   std::to_string(span.end) + ") is not within the model's " +
                                   std::to_string(cfg.num_hidden_layers) + " layers");
  std::unique_ptr<Decoder> d(new Decoder(cfg, lora, span));
  // A vector's floats: in place when f32, else widened once into the decoder.
  auto floats = [&d](const WeightView& v) -> const float* {
    if (v.dtype == DType::kF32) return static_cast<const float*>(v.data);
    return d->widened_.emplace_back(Widened(v)).data();
  };
  auto vec = [&](const std::string& name, int64_t n, const float** out) -> Status {
    WeightView v;
    AFTUNE_RETURN_IF_ERROR(CheckTensor(params, name, {n}, &v));
    *out = floats(v);
    return Status::Ok();
  };
  auto matrix = [&](const std::string& name, const std::vector<int64_t>& shape, StoredMatrix* out) -> Status {
    WeightView v;
    AFTUNE_RETURN_IF_ERROR(CheckTensor(params, name, shape, &v));
    *out = v.matrix();
    return Status::Ok();
  };
  // LoRA tensors are trained: f32 in place, never copied.
  auto adapter_matrix = [&](const std::string& name, const std::vector<int64_t>& shape,
                            const float** out) -> Status {
    WeightView v;
    AFTUNE_RETURN_IF_ERROR(CheckTensor(params, name, shape, &v));
    if (v.dtype != DType::kF32) return Status::InvalidArgument("tensor " + name + " must be f32");
    *out = static_cast<const float*>(v.data);
    return Status::Ok();
  };
  const int64_t C = cfg.hidden_size, V = cfg.vocab_size;
  if (span.has_embedding()) AFTUNE_RETURN_IF_ERROR(matrix(EmbeddingName(), {V, C}, &d->embedding_));
  for (int64_t l = span.begin; l < span.end; ++l) {
    Layer L;
    L.index = l;
    AFTUNE_RETURN_IF_ERROR(vec(InputNormName(l), C, &L.input_norm));
    AFTUNE_RETURN_IF_ERROR(vec(PostAttentionNormName(l), C, &L.post_norm));
    for (Proj p : kAllProjs) {
      LinearWeights& lw = L.proj[static_cast<int>(p)];
      std::vector<int64_t> shape = ProjShape(cfg, p);
      AFTUNE_RETURN_IF_ERROR(matrix(ProjWeightName(l, p), shape, &lw.w));
      lw.out_features = shape[0];
      lw.in_features = shape[1];
      if (ProjHasBias(cfg, p)) AFTUNE_RETURN_IF_ERROR(vec(ProjBiasName(l, p), shape[0], &lw.bias));
      if (lora.enabled() && lora.Targets(p)) {
        AFTUNE_RETURN_IF_ERROR(adapter_matrix(LoraAName(l, p), {lora.r, shape[1]}, &lw.lora_a));
        AFTUNE_RETURN_IF_ERROR(adapter_matrix(LoraBName(l, p), {shape[0], lora.r}, &lw.lora_b));
        lw.lora_rank = lora.r;
        lw.lora_scale = lora.scale();
      }
    }
    if (cfg.qk_norm()) {
      AFTUNE_RETURN_IF_ERROR(vec(QNormName(l), cfg.head_dim, &L.q_norm));
      AFTUNE_RETURN_IF_ERROR(vec(KNormName(l), cfg.head_dim, &L.k_norm));
    }
    d->layers_.push_back(L);
  }
  if (span.has_head(cfg)) {
    AFTUNE_RETURN_IF_ERROR(vec(FinalNormName(), C, &d->final_norm_));
    AFTUNE_RETURN_IF_ERROR(matrix(cfg.tie_word_embeddings ? EmbeddingName() : HeadName(), {V, C}, &d->head_));
  }
  d->rope_ = MakeRopeTable(cfg.head_dim, cfg.max_position_embeddings, cfg.rope_theta, cfg.rope_scaling);
  return d;
}

void Decoder::Forward(const PackedBatch& batch, const Tensor* x_in, bool keep, Activations* acts) const {
  Run(batch, x_in, keep, nullptr, false, acts);
}

void Decoder::ForwardCached(const PackedBatch& batch, const std::vector<KvCache*>& caches, Activations* acts,
                            bool last_rows_only) const {
  AFTUNE_CHECK(span_.has_embedding() && span_.has_head(cfg_));
  AFTUNE_CHECK(static_cast<int64_t>(caches.size()) == batch.num_sequences());
  for (int64_t s = 0; s < batch.num_sequences(); ++s) {
    const int64_t n = batch.starts[s + 1] - batch.starts[s];
    AFTUNE_CHECK(n == 0 || batch.positions[batch.starts[s]] == caches[s]->length());
    AFTUNE_CHECK(caches[s]->length() + n <= caches[s]->capacity());
    AFTUNE_CHECK(!last_rows_only || n > 0);
  }
  AFTUNE_CHECK(!last_rows_only || batch.targets.empty());
  Run(batch, nullptr, false, &caches, last_rows_only, acts);
  for (int64_t s = 0; s < batch.num_sequences(); ++s) caches[s]->Advance(batch.starts[s + 1] - batch.starts[s]);
}

void Decoder::Run(const PackedBatch& batch, const Tensor* x_in, bool keep, const std::vector<KvCache*>* caches,
                  bool last_rows_only, Activations* acts) const {
  const int64_t N = Rows(batch), C = cfg_.hidden_size;
  const size_t num_layers = layers_.size();
  acts->residual.resize(num_layers + 1);
  Tensor& x0 = acts->residual[0];
  if (span_.has_embedding()) {
    x0.ResizeUninitialized({N, C});
    EmbeddingRows(embedding_, batch.tokens.data(), x0.data(), N, cfg_.vocab_size, C);
  } else {
    AFTUNE_CHECK(x_in != nullptr && x_in->shape() == (std::vector<int64_t>{N, C}));
    x0 = *x_in;
  }
  // Without keep, one set of layer buffers serves every layer in turn.
  acts->kept = keep;
  acts->layers.resize(keep ? num_layers : 1);
  for (auto& a : acts->layers)
    if (!a) a = std::make_unique<LayerActivations>();
  for (size_t i = 0; i < num_layers; ++i) {
    LayerActivations& a = *acts->layers[keep ? i : 0];
    LayerForward(layers_[i], batch, acts->residual[i], caches, a, acts->residual[i + 1]);
  }
  if (!span_.has_head(cfg_)) return;
  const Tensor& x = acts->residual.back();
  if (!last_rows_only) {
    HeadForward(x, N, batch.targets.empty() ? nullptr : batch.targets.data(), acts);
    return;
  }
  const int64_t S = batch.num_sequences();
  acts->last_rows.ResizeUninitialized({S, C});
  for (int64_t s = 0; s < S; ++s)
    std::copy_n(x.data() + (batch.starts[s + 1] - 1) * C, C, acts->last_rows.data() + s * C);
  HeadForward(acts->last_rows, S, nullptr, acts);
}

void Decoder::LayerForward(const Layer& L, const PackedBatch& b, const Tensor& x,
                           const std::vector<KvCache*>* caches, LayerActivations& s, Tensor& x_out) const {
  const int64_t N = Rows(b), C = cfg_.hidden_size, F = cfg_.intermediate_size;
  const int64_t H = cfg_.num_attention_heads, Hk = cfg_.num_key_value_heads, D = cfg_.head_dim;
  const float eps = static_cast<float>(cfg_.rms_norm_eps);
  auto lin = [&](Proj p, const Tensor& in, Tensor& out) {
    const LinearWeights& lw = L.proj[static_cast<int>(p)];
    out.ResizeUninitialized({N, lw.out()});
    Tensor& u = s.lora_u[static_cast<int>(p)];
    if (lw.has_lora()) u.ResizeUninitialized({N, lw.rank()});
    LinearForward(lw, in.data(), N, out.data(), u.data());
  };
  s.xn1.ResizeUninitialized({N, C});
  s.rstd1.ResizeUninitialized({N});
  RmsNormForward(x.data(), L.input_norm, s.xn1.data(), s.rstd1.data(), N, C, eps);
  lin(Proj::kQ, s.xn1, s.q);
  lin(Proj::kK, s.xn1, s.k);
  lin(Proj::kV, s.xn1, s.v);
  if (cfg_.qk_norm()) {
    // Each head's D values normed on their own: [N * heads, D] rows.
    auto head_norm = [&](const float* w, int64_t heads, Tensor& t, Tensor& pre, Tensor& rstd) {
      std::swap(t, pre);
      t.ResizeUninitialized({N, heads * D});
      rstd.ResizeUninitialized({N * heads});
      RmsNormForward(pre.data(), w, t.data(), rstd.data(), N * heads, D, eps);
    };
    head_norm(L.q_norm, H, s.q, s.q_pre, s.rstd_q);
    head_norm(L.k_norm, Hk, s.k, s.k_pre, s.rstd_k);
  }
  RopeApply(s.q.data(), b.positions.data(), N, H, D, rope_, false);
  RopeApply(s.k.data(), b.positions.data(), N, Hk, D, rope_, false);
  s.att.ResizeUninitialized({N, H * D});
  if (caches) {
    CachedAttention(L, b, *caches, s);
  } else {
    s.probs.ResizeUninitialized({AttentionProbsSize(b.starts.data(), b.num_sequences(), H)});
    CausalAttentionForward(s.q.data(), s.k.data(), s.v.data(), s.att.data(), s.probs.data(), b.starts.data(),
                           b.num_sequences(), Dims());
  }
  lin(Proj::kO, s.att, s.o);
  s.x_mid.ResizeUninitialized({N, C});
  Add(x, s.o, s.x_mid);
  s.xn2.ResizeUninitialized({N, C});
  s.rstd2.ResizeUninitialized({N});
  RmsNormForward(s.x_mid.data(), L.post_norm, s.xn2.data(), s.rstd2.data(), N, C, eps);
  lin(Proj::kGate, s.xn2, s.gate);
  lin(Proj::kUp, s.xn2, s.up);
  s.h.ResizeUninitialized({N, F});
  SwigluForward(s.gate.data(), s.up.data(), s.h.data(), N * F);
  lin(Proj::kDown, s.h, s.down);
  x_out.ResizeUninitialized({N, C});
  Add(s.x_mid, s.down, x_out);
}

// Appends the new rows' keys and values to their sequences' caches, then
// attends every new row over its cache.
void Decoder::CachedAttention(const Layer& L, const PackedBatch& b, const std::vector<KvCache*>& caches,
                              LayerActivations& s) const {
  const int64_t Hk = cfg_.num_key_value_heads, D = cfg_.head_dim;
  const int64_t S = b.num_sequences();
  std::vector<const float*> keys_t(static_cast<size_t>(S * Hk)), values(keys_t.size());
  std::vector<int64_t> ldk(static_cast<size_t>(S));
  for (int64_t seq = 0; seq < S; ++seq) {
    KvCache& cache = *caches[seq];
    const int64_t cap = ldk[seq] = cache.capacity();
    for (int64_t g = 0; g < Hk; ++g) {
      float* kt = cache.keys_t(L.index, g);
      float* vv = cache.values(L.index, g);
      for (int64_t n = b.starts[seq]; n < b.starts[seq + 1]; ++n) {
        const int64_t j = b.positions[n];
        const float* kn = s.k.data() + (n * Hk + g) * D;
        const float* vn = s.v.data() + (n * Hk + g) * D;
        for (int64_t d = 0; d < D; ++d) {
          kt[d * cap + j] = kn[d];
          vv[j * D + d] = vn[d];
        }
      }
      keys_t[seq * Hk + g] = kt;
      values[seq * Hk + g] = vv;
    }
  }
  CachedAttentionForward(s.q.data(), s.att.data(), b.starts.data(), b.positions.data(), S, keys_t.data(),
                         values.data(), ldk.data(), Dims());
}

AttentionDims Decoder::Dims() const {
  const int64_t D = cfg_.head_dim;
  return AttentionDims{cfg_.num_attention_heads, cfg_.num_key_value_heads, D, RsqrtF(static_cast<float>(D)),
                       cfg_.sliding_window};
}

void Decoder::HeadForward(const Tensor& x, int64_t N, const int32_t* targets, Activations* acts) const {
  const int64_t C = cfg_.hidden_size, V = cfg_.vocab_size;
  acts->final_xn.ResizeUninitialized({N, C});
  acts->final_rstd.ResizeUninitialized({N});
  RmsNormForward(x.data(), final_norm_, acts->final_xn.data(), acts->final_rstd.data(), N, C,
                 static_cast<float>(cfg_.rms_norm_eps));
  acts->logits.ResizeUninitialized({N, V});
  Gemm(Trans::kN, Trans::kT, N, V, C, acts->final_xn.data(), C, head_, acts->logits.data(), V, false,
       &DefaultPool());
  acts->loss = CrossEntropyResult{};
  if (targets) {
    acts->lse.ResizeUninitialized({N});
    acts->loss = CrossEntropyForward(acts->logits.data(), targets, acts->lse.data(), N, V);
  }
}

void Decoder::Backward(const PackedBatch& batch, const Tensor* d_out, Activations* acts, TensorMap* grads,
                       Tensor* d_in) const {
  const int64_t count = acts->loss.count;
  BackwardScaled(batch, d_out, acts, grads, d_in, count ? 1.0f / static_cast<float>(count) : 0.0f);
}

void Decoder::BackwardScaled(const PackedBatch& batch, const Tensor* d_out, Activations* acts, TensorMap* grads,
                             Tensor* d_in, float loss_sum_scale) const {
  RunBackward(batch, d_out, acts, grads, d_in, loss_sum_scale, false);
}

void Decoder::BackwardData(const PackedBatch& batch, const Tensor* d_out, Activations* acts, Tensor* d_in,
                           float loss_sum_scale) const {
  RunBackward(batch, d_out, acts, nullptr, d_in, loss_sum_scale, true);
}

void Decoder::RunBackward(const PackedBatch& batch, const Tensor* d_out, Activations* acts, TensorMap* grads,
                          Tensor* d_in, float loss_sum_scale, bool keep) const {
  const int64_t N = Rows(batch), C = cfg_.hidden_size;
  const size_t n = layers_.size();
  AFTUNE_CHECK(acts->kept && acts->layers.size() == n);
  if (!acts->scratch) acts->scratch = std::make_unique<BackwardScratch>();
  acts->layer_grads.resize(keep ? n : 1);
  for (auto& g : acts->layer_grads)
    if (!g) g = std::make_unique<LayerGradOperands>();
  auto operands = [&](size_t i) -> LayerGradOperands& { return *acts->layer_grads[keep ? i : 0]; };
  Tensor& top = operands(n - 1).d_out;
  if (span_.has_head(cfg_)) {
    top.ResizeUninitialized({N, C});
    HeadBackwardData(batch, acts, &top, loss_sum_scale);
    if (!keep) HeadWeightGrads(batch, *acts, grads);
  } else {
    AFTUNE_CHECK(d_out != nullptr && d_out->shape() == (std::vector<int64_t>{N, C}));
    top = *d_out;
  }
  // Kept, layer i's input gradient is layer i-1's d_out; interleaved, one
  // set of operands serves every layer and d_input holds the next d_out.
  for (size_t i = n; i-- > 0;) {
    LayerGradOperands& g = operands(i);
    Tensor* dx = keep && i > 0 ? &operands(i - 1).d_out : &acts->d_input;
    LayerBackwardData(layers_[i], batch, acts->residual[i], *acts->layers[i], g, *acts->scratch, dx);
    if (keep) continue;
    LayerWeightGrads(layers_[i], batch, acts->residual[i], *acts->layers[i], g, grads);
    if (i > 0) std::swap(g.d_out, acts->d_input);
  }
  acts->grads_kept = keep;
  if (span_.has_embedding()) {
    if (!keep) EmbeddingWeightGrads(batch, *acts, grads);
  } else if (d_in) {
    *d_in = acts->d_input;
  }
}

std::vector<Decoder::GradPiece> Decoder::GradPieces() const {
  std::vector<GradPiece> pieces;
  if (span_.has_head(cfg_)) pieces.push_back({GradPiece::Kind::kHead, 0});
  for (int64_t l = span_.end; l-- > span_.begin;) pieces.push_back({GradPiece::Kind::kLayer, l});
  if (span_.has_embedding()) pieces.push_back({GradPiece::Kind::kEmbedding, 0});
  return pieces;
}

bool Decoder::PieceWrites(const GradPiece& piece, const std::string& name) const {
  switch (piece.kind) {
    case GradPiece::Kind::kHead:
      return name == FinalNormName() || name == (cfg_.tie_word_embeddings ? EmbeddingName() : HeadName());
    case GradPiece::Kind::kLayer:
      return LayerOfTensor(name) == piece.layer;
    case GradPiece::Kind::kEmbedding:
      return name == EmbeddingName();
  }
  return false;
}

void Decoder::AccumulatePiece(const GradPiece& piece, const PackedBatch& batch, const Activations& acts,
                              TensorMap* grads) const {
  AFTUNE_CHECK(acts.grads_kept);
  switch (piece.kind) {
    case GradPiece::Kind::kHead:
      AFTUNE_CHECK(span_.has_head(cfg_));
      HeadWeightGrads(batch, acts, grads);
      return;
    case GradPiece::Kind::kLayer: {
      AFTUNE_CHECK(piece.layer >= span_.begin && piece.layer < span_.end);
      const auto i = static_cast<size_t>(piece.layer - span_.begin);
      LayerWeightGrads(layers_[i], batch, acts.residual[i], *acts.layers[i], *acts.layer_grads[i], grads);
      return;
    }
    case GradPiece::Kind::kEmbedding:
      AFTUNE_CHECK(span_.has_embedding());
      EmbeddingWeightGrads(batch, acts, grads);
      return;
  }
}

void Decoder::HeadBackwardData(const PackedBatch& b, Activations* acts, Tensor* dx, float loss_sum_scale) const {
  const int64_t N = Rows(b), C = cfg_.hidden_size, V = cfg_.vocab_size;
  AFTUNE_CHECK(!b.targets.empty());
  acts->dlogits.ResizeUninitialized({N, V});
  CrossEntropyBackward(acts->logits.data(), b.targets.data(), acts->lse.data(), loss_sum_scale,
                       acts->dlogits.data(), N, V);
  acts->head_dxn.ResizeUninitialized({N, C});
  Gemm(Trans::kN, Trans::kN, N, C, V, acts->dlogits.data(), V, head_, acts->head_dxn.data(), C, false,
       &DefaultPool());
  RmsNormBackward(acts->head_dxn.data(), acts->residual.back().data(), final_norm_, acts->final_rstd.data(),
                  dx->data(), nullptr, N, C);
}

void Decoder::HeadWeightGrads(const PackedBatch& b, const Activations& acts, TensorMap* grads) const {
  const int64_t N = Rows(b), C = cfg_.hidden_size, V = cfg_.vocab_size;
  if (Tensor* g = GradFor(grads, cfg_.tie_word_embeddings ? EmbeddingName() : HeadName()))
    Gemm(Trans::kT, Trans::kN, V, C, N, acts.dlogits.data(), V, acts.final_xn.data(), C, g->data(), C, true,
         &DefaultPool());
  if (Tensor* g = GradFor(grads, FinalNormName()))
    RmsNormWeightGrad(acts.head_dxn.data(), acts.residual.back().data(), acts.final_rstd.data(), g->data(), N, C);
}

void Decoder::EmbeddingWeightGrads(const PackedBatch& b, const Activations& acts, TensorMap* grads) const {
  if (Tensor* g = GradFor(grads, EmbeddingName()))
    EmbeddingBackward(acts.d_input.data(), b.tokens.data(), g->data(), Rows(b), cfg_.hidden_size);
}

void Decoder::LayerBackwardData(const Layer& L, const PackedBatch& b, const Tensor& x, LayerActivations& s,
                                LayerGradOperands& g, BackwardScratch& t, Tensor* dx) const {
  const int64_t N = Rows(b), C = cfg_.hidden_size, F = cfg_.intermediate_size;
  const int64_t H = cfg_.num_attention_heads, Hk = cfg_.num_key_value_heads, D = cfg_.head_dim;
  auto lin = [&](Proj p, const Tensor& dy, Tensor& din, bool accumulate) {
    const LinearWeights& lw = L.proj[static_cast<int>(p)];
    Tensor& du = g.du[static_cast<int>(p)];
    if (lw.has_lora()) du.ResizeUninitialized({N, lw.rank()});
    LinearBackwardData(lw, dy.data(), N, din.data(), accumulate, du.data());
  };
  for (Tensor* u : {&t.dh, &g.dgate, &g.dup}) u->ResizeUninitialized({N, F});
  for (Tensor* u : {&g.dxn2, &g.dmid, &g.dxn1, &t.dnorm, dx}) u->ResizeUninitialized({N, C});
  t.datt.ResizeUninitialized({N, H * D});
  g.dq.ResizeUninitialized({N, H * D});
  g.dk.ResizeUninitialized({N, Hk * D});
  g.dv.ResizeUninitialized({N, Hk * D});
  // MLP: x_out = x_mid + down(swiglu(gate(xn2), up(xn2))).
  lin(Proj::kDown, g.d_out, t.dh, false);
  SwigluBackward(t.dh.data(), s.gate.data(), s.up.data(), g.dgate.data(), g.dup.data(), N * F);
  lin(Proj::kGate, g.dgate, g.dxn2, false);
  lin(Proj::kUp, g.dup, g.dxn2, true);
  RmsNormBackward(g.dxn2.data(), s.x_mid.data(), L.post_norm, s.rstd2.data(), t.dnorm.data(), nullptr, N, C);
  Add(g.d_out, t.dnorm, g.dmid);
  // Attention: x_mid = x + o(attn(rope(q(xn1)), rope(k(xn1)), v(xn1))).
  lin(Proj::kO, g.dmid, t.datt, false);
  CausalAttentionBackward(t.datt.data(), s.q.data(), s.k.data(), s.v.data(), s.probs.data(), g.dq.data(),
                          g.dk.data(), g.dv.data(), b.starts.data(), b.num_sequences(), Dims());
  RopeApply(g.dq.data(), b.positions.data(), N, H, D, rope_, true);
  RopeApply(g.dk.data(), b.positions.data(), N, Hk, D, rope_, true);
  const Tensor* dq = &g.dq;
  const Tensor* dk = &g.dk;
  if (cfg_.qk_norm()) {
    g.dq_pre.ResizeUninitialized({N, H * D});
    g.dk_pre.ResizeUninitialized({N, Hk * D});
    RmsNormBackward(g.dq.data(), s.q_pre.data(), L.q_norm, s.rstd_q.data(), g.dq_pre.data(), nullptr, N * H, D);
    RmsNormBackward(g.dk.data(), s.k_pre.data(), L.k_norm, s.rstd_k.data(), g.dk_pre.data(), nullptr, N * Hk, D);
    dq = &g.dq_pre;
    dk = &g.dk_pre;
  }
  lin(Proj::kQ, *dq, g.dxn1, false);
  lin(Proj::kK, *dk, g.dxn1, true);
  lin(Proj::kV, g.dv, g.dxn1, true);
  RmsNormBackward(g.dxn1.data(), x.data(), L.input_norm, s.rstd1.data(), t.dnorm.data(), nullptr, N, C);
  Add(g.dmid, t.dnorm, *dx);
}

void Decoder::LayerWeightGrads(const Layer& L, const PackedBatch& b, const Tensor& x, const LayerActivations& s,
                               const LayerGradOperands& g, TensorMap* grads) const {
  const int64_t N = Rows(b), C = cfg_.hidden_size;
  const int64_t H = cfg_.num_attention_heads, Hk = cfg_.num_key_value_heads, D = cfg_.head_dim;
  const int64_t l = L.index;
  auto lin = [&](Proj p, const Tensor& in, const Tensor& dy) {
    const int i = static_cast<int>(p);
    const LinearWeights& lw = L.proj[i];
    LinearGrads lg{GradFor(grads, ProjWeightName(l, p)), nullptr, nullptr, nullptr};
    if (lw.bias) lg.bias = GradFor(grads, ProjBiasName(l, p));
    if (lw.has_lora()) {
      lg.lora_a = GradFor(grads, LoraAName(l, p));
      lg.lora_b = GradFor(grads, LoraBName(l, p));
    }
    LinearWeightGrads(lw, in.data(), s.lora_u[i].data(), dy.data(), g.du[i].data(), N, lg);
  };
  // dw of a norm over `rows` rows of `width`.
  auto norm = [&](const std::string& name, const Tensor& dy, const Tensor& in, const Tensor& rstd, int64_t rows,
                  int64_t width) {
    if (Tensor* dw = GradFor(grads, name))
      RmsNormWeightGrad(dy.data(), in.data(), rstd.data(), dw->data(), rows, width);
  };
  lin(Proj::kDown, s.h, g.d_out);
  lin(Proj::kGate, s.xn2, g.dgate);
  lin(Proj::kUp, s.xn2, g.dup);
  norm(PostAttentionNormName(l), g.dxn2, s.x_mid, s.rstd2, N, C);
  lin(Proj::kO, s.att, g.dmid);
  if (cfg_.qk_norm()) {
    norm(QNormName(l), g.dq, s.q_pre, s.rstd_q, N * H, D);
    norm(KNormName(l), g.dk, s.k_pre, s.rstd_k, N * Hk, D);
  }
  lin(Proj::kQ, s.xn1, cfg_.qk_norm() ? g.dq_pre : g.dq);
  lin(Proj::kK, s.xn1, cfg_.qk_norm() ? g.dk_pre : g.dk);
  lin(Proj::kV, s.xn1, g.dv);
  norm(InputNormName(l), g.dxn1, x, s.rstd1, N, C);
}

}  // namespace aftune
