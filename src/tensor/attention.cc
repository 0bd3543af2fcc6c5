#include "tensor/attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "base/status.h"
#include "tensor/mathfn.h"
#include "tensor/thread_pool.h"

namespace aftune {

namespace {

// dst[d * T + j] = src[j * ld + d] for j < T, d < D.
void Transpose(const float* src, int64_t ld, int64_t T, int64_t D, float* dst) {
  for (int64_t j = 0; j < T; ++j)
    for (int64_t d = 0; d < D; ++d) dst[d * T + j] = src[j * ld + d];
}

// s[j] = fma chain over d of a[d] * bT[d * ldb + j], for j < P. Vectorises over j.
void DotColumns(const float* a, const float* bT, int64_t ldb, int64_t P, int64_t D, float* s) {
  std::fill(s, s + P, 0.0f);
  for (int64_t d = 0; d < D; ++d) {
    const float ad = a[d];
    const float* row = bT + d * ldb;
    for (int64_t j = 0; j < P; ++j) s[j] = std::fma(ad, row[j], s[j]);
  }
}

// out[d] = fma chain over j of w[j] * m[j * ld + d] (out overwritten unless accumulate).
void WeightedRows(const float* w, const float* m, int64_t ld, int64_t P, int64_t D, float* out) {
  std::fill(out, out + D, 0.0f);
  for (int64_t j = 0; j < P; ++j) {
    const float wj = w[j];
    const float* row = m + j * ld;
    for (int64_t d = 0; d < D; ++d) out[d] = std::fma(wj, row[d], out[d]);
  }
}

void SoftmaxInPlace(float* s, int64_t P) {
  float m = s[0];
  for (int64_t j = 1; j < P; ++j) m = std::max(m, s[j]);
  for (int64_t j = 0; j < P; ++j) s[j] -= m;
  ExpArray(s, s, P);
  float z = 0.0f;
  for (int64_t j = 0; j < P; ++j) z += s[j];
  for (int64_t j = 0; j < P; ++j) s[j] /= z;
}

int64_t ProbsOffset(const int64_t* starts, int64_t s, int64_t H) {
  int64_t off = 0;
  for (int64_t i = 0; i < s; ++i) {
    int64_t t = starts[i + 1] - starts[i];
    off += H * t * t;
  }
  return off;
}

}  // namespace

int64_t FirstAttended(int64_t pos, int64_t window) {
  return window > 0 ? std::max<int64_t>(0, pos - window + 1) : 0;
}

int64_t AttentionProbsSize(const int64_t* starts, int64_t num_seqs, int64_t H) {
  return ProbsOffset(starts, num_seqs, H);
}

void AttendRow(const float* q, const float* kT, int64_t ldk, const float* v, int64_t ldv, int64_t P,
               int64_t D, float scale, float* scratch, float* out) {
  DotColumns(q, kT, ldk, P, D, scratch);
  for (int64_t j = 0; j < P; ++j) scratch[j] *= scale;
  SoftmaxInPlace(scratch, P);
  WeightedRows(scratch, v, ldv, P, D, out);
}

void CausalAttentionForward(const float* q, const float* k, const float* v, float* out, float* probs,
                            const int64_t* starts, int64_t num_seqs, const AttentionDims& dims) {
  const int64_t H = dims.H, Hk = dims.Hk, D = dims.D, group = H / Hk;
  AFTUNE_CHECK(Hk > 0 && H % Hk == 0);
  DefaultPool().ParallelFor(num_seqs * Hk, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> kT, scratch;
    for (int64_t unit = begin; unit < end; ++unit) {
      const int64_t s = unit / Hk, g = unit % Hk;
      const int64_t row0 = starts[s], T = starts[s + 1] - starts[s];
      kT.resize(static_cast<size_t>(T * D));
      scratch.resize(static_cast<size_t>(T));
      Transpose(k + row0 * Hk * D + g * D, Hk * D, T, D, kT.data());
      const float* vg = v + row0 * Hk * D + g * D;
      for (int64_t h = g * group; h < (g + 1) * group; ++h) {
        for (int64_t i = 0; i < T; ++i) {
          const float* qi = q + (row0 + i) * H * D + h * D;
          float* oi = out + (row0 + i) * H * D + h * D;
          const int64_t j0 = FirstAttended(i, dims.window), P = i + 1 - j0;
          AttendRow(qi, kT.data() + j0, T, vg + j0 * Hk * D, Hk * D, P, D, dims.scale, scratch.data(), oi);
          if (probs) {
            float* pi = probs + ProbsOffset(starts, s, H) + (h * T + i) * T;
            std::fill(pi, pi + j0, 0.0f);
            std::copy(scratch.begin(), scratch.begin() + P, pi + j0);
            std::fill(pi + i + 1, pi + T, 0.0f);
          }
        }
      }
    }
  });
}

void CachedAttentionForward(const float* q, float* out, const int64_t* starts, const int32_t* positions,
                            int64_t num_seqs, const float* const* keys_t, const float* const* values,
                            const int64_t* ldk, const AttentionDims& dims) {
  const int64_t H = dims.H, Hk = dims.Hk, D = dims.D, group = H / Hk;
  AFTUNE_CHECK(Hk > 0 && H % Hk == 0);
  DefaultPool().ParallelFor(num_seqs * Hk, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> scratch;
    for (int64_t unit = begin; unit < end; ++unit) {
      const int64_t s = unit / Hk, g = unit % Hk;
      for (int64_t n = starts[s]; n < starts[s + 1]; ++n) {
        const int64_t j0 = FirstAttended(positions[n], dims.window), P = positions[n] + 1 - j0;
        AFTUNE_CHECK(positions[n] + 1 <= ldk[s]);
        scratch.resize(static_cast<size_t>(P));
        for (int64_t h = g * group; h < (g + 1) * group; ++h)
          AttendRow(q + (n * H + h) * D, keys_t[unit] + j0, ldk[s], values[unit] + j0 * D, D, P, D, dims.scale,
                    scratch.data(), out + (n * H + h) * D);
      }
    }
  });
}

// Per query row i of head h, over its positions j = j0..i, with p the saved
// probabilities and do = dout[i]:
//   dp_j = do . v_j,  ds_j = p_j (dp_j - sum_j' p_j' dp_j') * scale
//   dq_i = sum_j ds_j k_j,  dk_j += ds_j q_i,  dv_j += p_j do
void CausalAttentionBackward(const float* dout, const float* q, const float* k, const float* v,
                             const float* probs, float* dq, float* dk, float* dv,
                             const int64_t* starts, int64_t num_seqs, const AttentionDims& dims) {
  const int64_t H = dims.H, Hk = dims.Hk, D = dims.D, group = H / Hk;
  DefaultPool().ParallelFor(num_seqs * Hk, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> vT, ds;
    for (int64_t unit = begin; unit < end; ++unit) {
      const int64_t s = unit / Hk, g = unit % Hk;
      const int64_t row0 = starts[s], T = starts[s + 1] - starts[s];
      const int64_t ldkv = Hk * D, ldq = H * D;
      vT.resize(static_cast<size_t>(T * D));
      ds.resize(static_cast<size_t>(T));
      const float* kg = k + row0 * ldkv + g * D;
      const float* vg = v + row0 * ldkv + g * D;
      float* dkg = dk + row0 * ldkv + g * D;
      float* dvg = dv + row0 * ldkv + g * D;
      Transpose(vg, ldkv, T, D, vT.data());
      for (int64_t j = 0; j < T; ++j) {
        std::fill(dkg + j * ldkv, dkg + j * ldkv + D, 0.0f);
        std::fill(dvg + j * ldkv, dvg + j * ldkv + D, 0.0f);
      }
      for (int64_t h = g * group; h < (g + 1) * group; ++h) {
        const float* ph = probs + ProbsOffset(starts, s, H) + h * T * T;
        for (int64_t i = 0; i < T; ++i) {
          const int64_t j0 = FirstAttended(i, dims.window), P = i + 1 - j0;
          const float* p = ph + i * T + j0;
          const float* doi = dout + (row0 + i) * ldq + h * D;
          const float* qi = q + (row0 + i) * ldq + h * D;
          DotColumns(doi, vT.data() + j0, T, P, D, ds.data());  // ds = dp
          float dot = 0.0f;
          for (int64_t j = 0; j < P; ++j) dot = std::fma(p[j], ds[j], dot);
          for (int64_t j = 0; j < P; ++j) ds[j] = (p[j] * (ds[j] - dot)) * dims.scale;
          WeightedRows(ds.data(), kg + j0 * ldkv, ldkv, P, D, dq + (row0 + i) * ldq + h * D);
          for (int64_t j = 0; j < P; ++j) {
            float* dkj = dkg + (j0 + j) * ldkv;
            float* dvj = dvg + (j0 + j) * ldkv;
            const float dsj = ds[j], pj = p[j];
            for (int64_t d = 0; d < D; ++d) dkj[d] = std::fma(dsj, qi[d], dkj[d]);
            for (int64_t d = 0; d < D; ++d) dvj[d] = std::fma(pj, doi[d], dvj[d]);
          }
        }
      }
    }
  });
}

}  // namespace aftune
