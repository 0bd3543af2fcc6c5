// Each kernel against a plain double-precision reference written here:
// forward values directly, backward as the analytic gradient of the reference
// (checked by central finite differences in double), and the packed-batch and
// cached attention paths against each other bit for bit.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <vector>

#include "tensor/attention.h"
#include "tensor/cross_entropy.h"
#include "tensor/embedding.h"
#include "tensor/mathfn.h"
#include "tensor/philox.h"
#include "tensor/rmsnorm.h"
#include "tensor/rope.h"
#include "tensor/swiglu.h"

namespace aftune {
namespace {

std::vector<float> Random(int64_t n, uint32_t stream, float scale = 1.0f) {
  Philox rng(99, RandomPurpose::kWeightInit, stream);
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[i] = scale * rng.Normal(static_cast<uint64_t>(i));
  return v;
}

double MaxRelError(const std::vector<float>& got, const std::vector<double>& want) {
  double num = 0, den = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    num = std::max(num, std::abs(got[i] - want[i]));
    den = std::max(den, std::abs(want[i]));
  }
  return num / std::max(den, 1e-30);
}

// d(sum_i w_i * f(x)_i)/dx by central differences on a double function.
std::vector<double> NumericGrad(const std::function<std::vector<double>(const std::vector<double>&)>& f,
                                std::vector<double> x, const std::vector<double>& w) {
  std::vector<double> g(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const double h = 1e-6 * std::max(1.0, std::abs(x[i]));
    const double keep = x[i];
    x[i] = keep + h;
    auto up = f(x);
    x[i] = keep - h;
    auto down = f(x);
    x[i] = keep;
    double s = 0;
    for (size_t k = 0; k < w.size(); ++k) s += w[k] * (up[k] - down[k]);
    g[i] = s / (2 * h);
  }
  return g;
}

std::vector<double> ToDouble(const std::vector<float>& v) { return {v.begin(), v.end()}; }

TEST(RmsNormKernel, ForwardAndBackwardMatchReference) {
  const int64_t N = 5, C = 12;
  auto x = Random(N * C, 1), w = Random(C, 2), dy = Random(N * C, 3);
  const float eps = 1e-5f;
  auto ref = [&](const std::vector<double>& xd) {
    std::vector<double> y(xd.size());
    for (int64_t n = 0; n < N; ++n) {
      double ss = 0;
      for (int64_t c = 0; c < C; ++c) ss += xd[n * C + c] * xd[n * C + c];
      double r = 1.0 / std::sqrt(ss / C + eps);
      for (int64_t c = 0; c < C; ++c) y[n * C + c] = xd[n * C + c] * r * w[c];
    }
    return y;
  };
  std::vector<float> y(N * C), rstd(N), dx(N * C), dw(C, 0.0f);
  RmsNormForward(x.data(), w.data(), y.data(), rstd.data(), N, C, eps);
  EXPECT_LT(MaxRelError(y, ref(ToDouble(x))), 1e-6);
  RmsNormBackward(dy.data(), x.data(), w.data(), rstd.data(), dx.data(), dw.data(), N, C);
  EXPECT_LT(MaxRelError(dx, NumericGrad(ref, ToDouble(x), ToDouble(dy))), 1e-5);
  // dw[c] = sum_n dy * x * rstd
  std::vector<double> dw_ref(C, 0.0);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c) dw_ref[c] += dy[n * C + c] * x[n * C + c] * rstd[n];
  EXPECT_LT(MaxRelError(dw, dw_ref), 1e-6);
}

TEST(RopeKernel, RotatesLikeTheReferenceAndInverts) {
  const int64_t N = 7, heads = 3, D = 10;
  auto x = Random(N * heads * D, 4);
  std::vector<int32_t> pos = {0, 1, 2, 5, 9, 30, 63};
  RopeTable table = MakeRopeTable(D, 64, 10000.0);
  std::vector<float> y = x;
  RopeApply(y.data(), pos.data(), N, heads, D, table, false);
  std::vector<double> want(y.size());
  for (int64_t n = 0; n < N; ++n)
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t i = 0; i < D / 2; ++i) {
        double ang = pos[n] * std::pow(10000.0, -2.0 * i / D);
        const float* v = x.data() + (n * heads + h) * D;
        want[(n * heads + h) * D + i] = v[i] * std::cos(ang) - v[i + D / 2] * std::sin(ang);
        want[(n * heads + h) * D + i + D / 2] = v[i + D / 2] * std::cos(ang) + v[i] * std::sin(ang);
      }
  EXPECT_LT(MaxRelError(y, want), 2e-6);
  RopeApply(y.data(), pos.data(), N, heads, D, table, true);
  EXPECT_LT(MaxRelError(y, ToDouble(x)), 1e-6);
}

TEST(RopeKernel, PositionsBeyondTheTablesRotateBitIdentically) {
  // A table caching 8 of 200 positions computes the others as used: the same
  // angles with the same functions, so the same bits as a full table.
  const int64_t N = 6, heads = 2, D = 16;
  const auto x = Random(N * heads * D, 8);
  const std::vector<int32_t> pos = {0, 7, 8, 9, 120, 199};
  const RopeScaling llama3{RopeType::kLlama3, 8.0, 1.0, 4.0, 64};
  for (bool inverse : {false, true}) {
    std::vector<float> full = x, lazy = x;
    RopeApply(full.data(), pos.data(), N, heads, D, MakeRopeTable(D, 200, 500000.0, llama3, 200), inverse);
    RopeApply(lazy.data(), pos.data(), N, heads, D, MakeRopeTable(D, 200, 500000.0, llama3, 8), inverse);
    EXPECT_EQ(std::memcmp(full.data(), lazy.data(), full.size() * sizeof(float)), 0) << inverse;
  }
  EXPECT_EQ(MakeRopeTable(D, 200, 10000.0, {}, 8).cos.size(), 8u * D / 2);
  EXPECT_EQ(MakeRopeTable(D, 4, 10000.0, {}, 8).cos.size(), 4u * D / 2);
}

TEST(SwigluKernel, ForwardAndBackwardMatchReference) {
  const int64_t n = 300;  // more than one inner block
  auto g = Random(n, 5, 3.0f), u = Random(n, 6), dh = Random(n, 7);
  std::vector<float> h(n), dg(n), du(n);
  SwigluForward(g.data(), u.data(), h.data(), n);
  SwigluBackward(dh.data(), g.data(), u.data(), dg.data(), du.data(), n);
  std::vector<double> h_ref(n), dg_ref(n), du_ref(n);
  for (int64_t i = 0; i < n; ++i) {
    double s = 1.0 / (1.0 + std::exp(-static_cast<double>(g[i])));
    h_ref[i] = g[i] * s * u[i];
    du_ref[i] = dh[i] * g[i] * s;
    dg_ref[i] = dh[i] * u[i] * (s + g[i] * s * (1 - s));
    EXPECT_EQ(h[i], Silu(g[i]) * u[i]);  // the array and scalar paths agree bit for bit
  }
  EXPECT_LT(MaxRelError(h, h_ref), 1e-6);
  EXPECT_LT(MaxRelError(dg, dg_ref), 1e-6);
  EXPECT_LT(MaxRelError(du, du_ref), 1e-6);
}

TEST(CrossEntropyKernel, LossAndGradientMatchReference) {
  const int64_t N = 4, V = 300;
  auto logits = Random(N * V, 8, 4.0f);
  std::vector<int32_t> targets = {3, kIgnoreIndex, 299, 0};
  std::vector<float> lse(N), d(N * V);
  CrossEntropyResult r = CrossEntropyForward(logits.data(), targets.data(), lse.data(), N, V);
  EXPECT_EQ(r.count, 3);
  double want = 0;
  std::vector<double> d_ref(N * V, 0.0);
  for (int64_t n = 0; n < N; ++n) {
    if (targets[n] == kIgnoreIndex) continue;
    double m = -1e300, z = 0;
    for (int64_t v = 0; v < V; ++v) m = std::max(m, static_cast<double>(logits[n * V + v]));
    for (int64_t v = 0; v < V; ++v) z += std::exp(logits[n * V + v] - m);
    want += m + std::log(z) - logits[n * V + targets[n]];
    for (int64_t v = 0; v < V; ++v) d_ref[n * V + v] = std::exp(logits[n * V + v] - m) / z / 3.0;
    d_ref[n * V + targets[n]] -= 1.0 / 3.0;
  }
  EXPECT_NEAR(r.loss, want / 3.0, 1e-6 * want);
  CrossEntropyBackward(logits.data(), targets.data(), lse.data(), 1.0f / 3.0f, d.data(), N, V);
  EXPECT_LT(MaxRelError(d, d_ref), 1e-5);
  for (int64_t v = 0; v < V; ++v) EXPECT_EQ(d[1 * V + v], 0.0f);  // the ignored row
}

TEST(EmbeddingKernel, GathersAndScatterAdds) {
  const int64_t V = 6, C = 5, N = 4;
  auto table = Random(V * C, 9);
  std::vector<int32_t> ids = {2, 5, 2, 0};
  std::vector<float> out(N * C), dtable(V * C, 0.0f);
  EmbeddingForward(table.data(), ids.data(), out.data(), N, V, C);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c) EXPECT_EQ(out[n * C + c], table[ids[n] * C + c]);
  auto dout = Random(N * C, 10);
  EmbeddingBackward(dout.data(), ids.data(), dtable.data(), N, C);
  for (int64_t c = 0; c < C; ++c) {
    EXPECT_EQ(dtable[2 * C + c], dout[0 * C + c] + dout[2 * C + c]);
    EXPECT_EQ(dtable[5 * C + c], dout[1 * C + c]);
    EXPECT_EQ(dtable[1 * C + c], 0.0f);
  }
}

// Reference causal GQA attention of one sequence in double.
std::vector<double> AttentionRef(const std::vector<double>& q, const std::vector<double>& k,
                                 const std::vector<double>& v, int64_t T, const AttentionDims& d) {
  std::vector<double> out(T * d.H * d.D, 0.0);
  for (int64_t h = 0; h < d.H; ++h) {
    const int64_t g = h / (d.H / d.Hk);
    for (int64_t i = 0; i < T; ++i) {
      std::vector<double> s(i + 1);
      double m = -1e300, z = 0;
      for (int64_t j = 0; j <= i; ++j) {
        double dot = 0;
        for (int64_t e = 0; e < d.D; ++e) dot += q[(i * d.H + h) * d.D + e] * k[(j * d.Hk + g) * d.D + e];
        s[j] = dot / std::sqrt(static_cast<double>(d.D));
        m = std::max(m, s[j]);
      }
      for (auto& x : s) z += (x = std::exp(x - m));
      for (int64_t j = 0; j <= i; ++j)
        for (int64_t e = 0; e < d.D; ++e) out[(i * d.H + h) * d.D + e] += s[j] / z * v[(j * d.Hk + g) * d.D + e];
    }
  }
  return out;
}

TEST(AttentionKernel, ForwardBackwardAndCachedPath) {
  const int64_t T = 6;
  AttentionDims d{4, 2, 8, RsqrtF(8.0f)};
  auto q = Random(T * d.H * d.D, 11), k = Random(T * d.Hk * d.D, 12), v = Random(T * d.Hk * d.D, 13);
  auto dout = Random(T * d.H * d.D, 14);
  int64_t starts[] = {0, T};
  std::vector<float> out(q.size()), probs(AttentionProbsSize(starts, 1, d.H));
  CausalAttentionForward(q.data(), k.data(), v.data(), out.data(), probs.data(), starts, 1, d);
  EXPECT_LT(MaxRelError(out, AttentionRef(ToDouble(q), ToDouble(k), ToDouble(v), T, d)), 1e-6);

  std::vector<float> dq(q.size()), dk(k.size()), dv(v.size());
  CausalAttentionBackward(dout.data(), q.data(), k.data(), v.data(), probs.data(), dq.data(), dk.data(), dv.data(),
                          starts, 1, d);
  auto wrt_q = [&](const std::vector<double>& x) { return AttentionRef(x, ToDouble(k), ToDouble(v), T, d); };
  auto wrt_k = [&](const std::vector<double>& x) { return AttentionRef(ToDouble(q), x, ToDouble(v), T, d); };
  auto wrt_v = [&](const std::vector<double>& x) { return AttentionRef(ToDouble(q), ToDouble(k), x, T, d); };
  EXPECT_LT(MaxRelError(dq, NumericGrad(wrt_q, ToDouble(q), ToDouble(dout))), 1e-5);
  EXPECT_LT(MaxRelError(dk, NumericGrad(wrt_k, ToDouble(k), ToDouble(dout))), 1e-5);
  EXPECT_LT(MaxRelError(dv, NumericGrad(wrt_v, ToDouble(v), ToDouble(dout))), 1e-5);

  // The cached path: keys transposed [D, cap], values [cap, D] per kv-head,
  // every row attending to its prefix: bit-identical to the packed path.
  const int64_t cap = 9;
  std::vector<std::vector<float>> kt(d.Hk, std::vector<float>(d.D * cap)), vv(d.Hk, std::vector<float>(cap * d.D));
  for (int64_t g = 0; g < d.Hk; ++g)
    for (int64_t j = 0; j < T; ++j)
      for (int64_t e = 0; e < d.D; ++e) {
        kt[g][e * cap + j] = k[(j * d.Hk + g) * d.D + e];
        vv[g][j * d.D + e] = v[(j * d.Hk + g) * d.D + e];
      }
  std::vector<const float*> keys = {kt[0].data(), kt[1].data()}, values = {vv[0].data(), vv[1].data()};
  std::vector<int32_t> positions = {0, 1, 2, 3, 4, 5};
  int64_t ldk[] = {cap};
  std::vector<float> cached(q.size());
  CachedAttentionForward(q.data(), cached.data(), starts, positions.data(), 1, keys.data(), values.data(), ldk, d);
  EXPECT_EQ(cached, out);
}

}  // namespace
}  // namespace aftune
