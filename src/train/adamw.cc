#include "train/adamw.h"

#include <bit>
#include <cmath>
#include <string_view>
#include <utility>

#include "tensor/mathfn.h"
#include "tensor/thread_pool.h"

namespace aftune {
namespace {

// The f32 scalars of one step (see adamw.h).
struct Scalars {
  float decay, w1, one_minus_w1, beta2, c2, eps, bc2_sqrt, neg_step;
};

template <bool kDecay, bool kSmallWeight>
void UpdateRange(const Scalars& s, const float* g, float* p, float* m, float* v, int64_t begin,
                 int64_t end) {
  for (int64_t i = begin; i < end; ++i) {
    float pi = p[i], gi = g[i], mi = m[i], vi = v[i];
    if constexpr (kDecay) pi = pi * s.decay;
    if constexpr (kSmallWeight) {
      mi = mi + s.w1 * (gi - mi);
    } else {
      mi = gi - (gi - mi) * s.one_minus_w1;
    }
    vi = vi * s.beta2;
    vi = vi + (s.c2 * gi) * gi;
    float d = SqrtF(vi) / s.bc2_sqrt + s.eps;
    pi = pi + (s.neg_step * mi) / d;
    p[i] = pi;
    m[i] = mi;
    v[i] = vi;
  }
}

template <bool kDecay>
void Update(bool small_weight, const Scalars& s, const float* g, float* p, float* m, float* v,
            int64_t n) {
  DefaultPool().ParallelFor(n, 1 << 14, [&](int64_t begin, int64_t end) {
    if (small_weight) {
      UpdateRange<kDecay, true>(s, g, p, m, v, begin, end);
    } else {
      UpdateRange<kDecay, false>(s, g, p, m, v, begin, end);
    }
  });
}

bool IsFinite(double x) { return std::isfinite(x); }

}  // namespace

Status ValidateAdamWConfig(const AdamWConfig& cfg) {
  if (!IsFinite(cfg.beta1) || cfg.beta1 < 0 || cfg.beta1 >= 1)
    return Status::InvalidArgument("AdamW beta1 must be in [0, 1)");
  if (!IsFinite(cfg.beta2) || cfg.beta2 < 0 || cfg.beta2 >= 1)
    return Status::InvalidArgument("AdamW beta2 must be in [0, 1)");
  if (!IsFinite(cfg.eps) || cfg.eps <= 0) return Status::InvalidArgument("AdamW eps must be finite and > 0");
  if (!IsFinite(cfg.weight_decay) || cfg.weight_decay < 0)
    return Status::InvalidArgument("AdamW weight_decay must be finite and >= 0");
  return Status::Ok();
}

std::set<std::string> HfNoDecayNames(const TensorMap& params) {
  std::set<std::string> out;
  for (const auto& [name, t] : params) {
    bool exempt = name.find("bias") != std::string::npos || name.find("layernorm") != std::string::npos ||
                  name.find("rmsnorm") != std::string::npos;
    size_t b = 0;
    while (!exempt && b <= name.size()) {
      size_t e = name.find('.', b);
      if (e == std::string::npos) e = name.size();
      std::string_view part(name.data() + b, e - b);
      exempt = part == "norm" || part.ends_with("_norm");
      b = e + 1;
    }
    if (exempt) out.insert(name);
  }
  return out;
}

std::string ExpAvgName(const std::string& param) { return param + ".exp_avg"; }
std::string ExpAvgSqName(const std::string& param) { return param + ".exp_avg_sq"; }

double PowBySquaring(double b, int64_t t) {
  AFTUNE_CHECK(t >= 0);
  uint64_t u = static_cast<uint64_t>(t);
  double r = 1.0;
  for (int bit = 63 - std::countl_zero(u | 1); bit >= 0; --bit) {
    r = r * r;
    if ((u >> bit) & 1) r = r * b;
  }
  return r;
}

AdamW::AdamW(AdamWConfig cfg, const TensorMap& params) : cfg_(std::move(cfg)) {
  AFTUNE_CHECK(ValidateAdamWConfig(cfg_).ok());
  for (const auto& [name, t] : params) {
    state_.emplace(ExpAvgName(name), Tensor(t.shape()));
    state_.emplace(ExpAvgSqName(name), Tensor(t.shape()));
  }
  AFTUNE_CHECK(state_.size() == 2 * params.size());
}

Result<AdamW> AdamW::Restore(AdamWConfig cfg, const TensorMap& params, TensorMap state, int64_t step) {
  AFTUNE_RETURN_IF_ERROR(ValidateAdamWConfig(cfg));
  if (step < 0) return Status::Corruption("AdamW state: negative step " + std::to_string(step));
  for (const auto& [name, t] : params) {
    for (const std::string& moment : {ExpAvgName(name), ExpAvgSqName(name)}) {
      auto it = state.find(moment);
      if (it == state.end()) return Status::Corruption("AdamW state: missing " + moment);
      if (it->second.shape() != t.shape())
        return Status::Corruption("AdamW state: " + moment + " has shape " + it->second.ShapeString() +
                                  ", the parameter " + t.ShapeString());
    }
  }
  if (state.size() != 2 * params.size()) {
    for (const auto& [name, t] : state) {
      bool known = false;
      for (const char* suffix : {".exp_avg", ".exp_avg_sq"}) {
        std::string_view n(name), s(suffix);
        if (n.ends_with(s) && params.count(std::string(n.substr(0, n.size() - s.size())))) known = true;
      }
      if (!known) return Status::Corruption("AdamW state: unexpected tensor " + name);
    }
  }
  return AdamW(std::move(cfg), std::move(state), step);
}

void AdamW::Step(float lr, const TensorMap& grads, TensorMap* params) {
  AFTUNE_CHECK(std::isfinite(lr));
  AFTUNE_CHECK(grads.size() == params->size() && 2 * params->size() == state_.size());
  const int64_t t = step_ + 1;
  const double lr64 = lr;
  Scalars s;
  s.decay = static_cast<float>(1.0 - lr64 * cfg_.weight_decay);
  s.w1 = static_cast<float>(1.0 - cfg_.beta1);
  s.one_minus_w1 = 1.0f - s.w1;
  s.beta2 = static_cast<float>(cfg_.beta2);
  s.c2 = static_cast<float>(1.0 - cfg_.beta2);
  s.eps = static_cast<float>(cfg_.eps);
  const double bc1 = 1.0 - PowBySquaring(cfg_.beta1, t);
  s.neg_step = static_cast<float>(-(lr64 / bc1));
  s.bc2_sqrt = static_cast<float>(std::sqrt(1.0 - PowBySquaring(cfg_.beta2, t)));
  // ATen's lerp: self + w * (end - self) when |w| < 0.5, else the other form.
  const bool small_weight = std::fabs(s.w1) < 0.5f;

  auto g_it = grads.begin();
  for (auto& [name, p] : *params) {
    AFTUNE_CHECK(g_it != grads.end() && g_it->first == name && g_it->second.shape() == p.shape());
    auto m_it = state_.find(ExpAvgName(name));
    auto v_it = state_.find(ExpAvgSqName(name));
    AFTUNE_CHECK(m_it != state_.end() && v_it != state_.end());
    const float* g = g_it->second.data();
    float *m = m_it->second.data(), *v = v_it->second.data();
    if (cfg_.no_decay.count(name)) {
      Update<false>(small_weight, s, g, p.data(), m, v, p.numel());
    } else {
      Update<true>(small_weight, s, g, p.data(), m, v, p.numel());
    }
    ++g_it;
  }
  step_ = t;
}

}  // namespace aftune
