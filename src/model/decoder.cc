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

// The backward's temporaries, reused across layers and passes.
struct BackwardScratch {
  Tensor dx, dh, dgate, dup, dxn, dnorm, datt, dq, dk, dv, dq_pre, dk_pre, dlogits;
};

Activations::Activations() = default;
Activations::~Activations() = default;
Activations::Activations(Activations&&) noexcept = default;
Activations& Activations::operator=(Activations&&) noexcept = default;

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
  const int64_t N = Rows(batch), C = cfg_.hidden_size;
  AFTUNE_CHECK(acts->kept && acts->layers.size() == layers_.size());
  if (!acts->scratch) acts->scratch = std::make_unique<BackwardScratch>();
  BackwardScratch& s = *acts->scratch;
  s.dx.ResizeUninitialized({N, C});
  if (span_.has_head(cfg_)) {
    HeadBackward(batch, acts, grads, &s.dx, loss_sum_scale);
  } else {
    AFTUNE_CHECK(d_out != nullptr && d_out->shape() == s.dx.shape());
    s.dx = *d_out;
  }
  for (size_t i = layers_.size(); i-- > 0;)
    LayerBackward(layers_[i], batch, acts->residual[i], *acts->layers[i], s, grads);
  if (span_.has_embedding()) {
    if (Tensor* g = GradFor(grads, EmbeddingName()))
      EmbeddingBackward(s.dx.data(), batch.tokens.data(), g->data(), N, C);
  } else if (d_in) {
    *d_in = s.dx;
  }
}

void Decoder::HeadBackward(const PackedBatch& b, Activations* acts, TensorMap* grads, Tensor* dx,
                           float loss_sum_scale) const {
  const int64_t N = Rows(b), C = cfg_.hidden_size, V = cfg_.vocab_size;
  AFTUNE_CHECK(!b.targets.empty());
  Tensor& dlogits = acts->scratch->dlogits;
  dlogits.ResizeUninitialized({N, V});
  CrossEntropyBackward(acts->logits.data(), b.targets.data(), acts->lse.data(), loss_sum_scale, dlogits.data(), N,
                       V);
  ThreadPool* pool = &DefaultPool();
  const std::string head_name = cfg_.tie_word_embeddings ? EmbeddingName() : HeadName();
  if (Tensor* g = GradFor(grads, head_name))
    Gemm(Trans::kT, Trans::kN, V, C, N, dlogits.data(), V, acts->final_xn.data(), C, g->data(), C, true, pool);
  Tensor& dxn = acts->scratch->dxn;
  dxn.ResizeUninitialized({N, C});
  Gemm(Trans::kN, Trans::kN, N, C, V, dlogits.data(), V, head_, dxn.data(), C, false, pool);
  RmsNormBackward(dxn.data(), acts->residual.back().data(), final_norm_, acts->final_rstd.data(), dx->data(),
                  GradFor(grads, FinalNormName()) ? GradFor(grads, FinalNormName())->data() : nullptr, N, C);
}

void Decoder::LayerBackward(const Layer& L, const PackedBatch& b, const Tensor& x, LayerActivations& s,
                            BackwardScratch& t, TensorMap* grads) const {
  const int64_t N = Rows(b), C = cfg_.hidden_size, F = cfg_.intermediate_size;
  const int64_t H = cfg_.num_attention_heads, Hk = cfg_.num_key_value_heads, D = cfg_.head_dim;
  const int64_t l = L.index;
  auto lin_back = [&](Proj p, const Tensor& in, const Tensor& dy, Tensor& din, bool accumulate) {
    const LinearWeights& lw = L.proj[static_cast<int>(p)];
    LinearGrads g{GradFor(grads, ProjWeightName(l, p)), nullptr, nullptr, nullptr};
    if (lw.bias) g.bias = GradFor(grads, ProjBiasName(l, p));
    if (lw.has_lora()) {
      g.lora_a = GradFor(grads, LoraAName(l, p));
      g.lora_b = GradFor(grads, LoraBName(l, p));
    }
    LinearBackward(lw, in.data(), s.lora_u[static_cast<int>(p)].data(), dy.data(), N, din.data(), accumulate, g);
  };
  auto norm_grad = [&](const std::string& name) {
    Tensor* g = GradFor(grads, name);
    return g ? g->data() : nullptr;
  };
  for (Tensor* u : {&t.dh, &t.dgate, &t.dup}) u->ResizeUninitialized({N, F});
  for (Tensor* u : {&t.dxn, &t.dnorm}) u->ResizeUninitialized({N, C});
  t.datt.ResizeUninitialized({N, H * D});
  t.dq.ResizeUninitialized({N, H * D});
  t.dk.ResizeUninitialized({N, Hk * D});
  t.dv.ResizeUninitialized({N, Hk * D});
  // MLP: x_out = x_mid + down(swiglu(gate(xn2), up(xn2))); t.dx holds d(x_out).
  lin_back(Proj::kDown, s.h, t.dx, t.dh, false);
  SwigluBackward(t.dh.data(), s.gate.data(), s.up.data(), t.dgate.data(), t.dup.data(), N * F);
  lin_back(Proj::kGate, s.xn2, t.dgate, t.dxn, false);
  lin_back(Proj::kUp, s.xn2, t.dup, t.dxn, true);
  RmsNormBackward(t.dxn.data(), s.x_mid.data(), L.post_norm, s.rstd2.data(), t.dnorm.data(),
                  norm_grad(PostAttentionNormName(l)), N, C);
  Add(t.dx, t.dnorm, t.dx);  // d(x_mid)
  // Attention: x_mid = x + o(attn(rope(q(xn1)), rope(k(xn1)), v(xn1))).
  lin_back(Proj::kO, s.att, t.dx, t.datt, false);
  CausalAttentionBackward(t.datt.data(), s.q.data(), s.k.data(), s.v.data(), s.probs.data(), t.dq.data(),
                          t.dk.data(), t.dv.data(), b.starts.data(), b.num_sequences(), Dims());
  RopeApply(t.dq.data(), b.positions.data(), N, H, D, rope_, true);
  RopeApply(t.dk.data(), b.positions.data(), N, Hk, D, rope_, true);
  const Tensor* dq = &t.dq;
  const Tensor* dk = &t.dk;
  if (cfg_.qk_norm()) {
    t.dq_pre.ResizeUninitialized({N, H * D});
    t.dk_pre.ResizeUninitialized({N, Hk * D});
    RmsNormBackward(t.dq.data(), s.q_pre.data(), L.q_norm, s.rstd_q.data(), t.dq_pre.data(),
                    norm_grad(QNormName(l)), N * H, D);
    RmsNormBackward(t.dk.data(), s.k_pre.data(), L.k_norm, s.rstd_k.data(), t.dk_pre.data(),
                    norm_grad(KNormName(l)), N * Hk, D);
    dq = &t.dq_pre;
    dk = &t.dk_pre;
  }
  lin_back(Proj::kQ, s.xn1, *dq, t.dxn, false);
  lin_back(Proj::kK, s.xn1, *dk, t.dxn, true);
  lin_back(Proj::kV, s.xn1, t.dv, t.dxn, true);
  RmsNormBackward(t.dxn.data(), x.data(), L.input_norm, s.rstd1.data(), t.dnorm.data(),
                  norm_grad(InputNormName(l)), N, C);
  Add(t.dx, t.dnorm, t.dx);  // d(x)
}

}  // namespace aftune
