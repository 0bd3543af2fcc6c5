#include "tensor/rope.h"

#include <algorithm>

#include "base/status.h"
#include "tensor/mathfn.h"
#include "tensor/thread_pool.h"

namespace aftune {

namespace {

// Llama 3.1's smooth interpolation between unscaled high frequencies and
// low frequencies divided by `factor` (see rope.h for the formula).
float Llama3Scaled(float inv_freq, const RopeScaling& s) {
  const float factor = static_cast<float>(s.factor);
  const float low = static_cast<float>(s.low_freq_factor);
  const double old = static_cast<double>(s.original_max_position_embeddings);
  const float low_freq_wavelen = static_cast<float>(old / s.low_freq_factor);
  const float high_freq_wavelen = static_cast<float>(old / s.high_freq_factor);
  const float two_pi = static_cast<float>(2.0 * 3.141592653589793);
  const float wavelen = (1.0f / inv_freq) * two_pi;
  const float scaled = wavelen > low_freq_wavelen ? inv_freq / factor : inv_freq;
  const float smooth = ((1.0f / wavelen) * static_cast<float>(old) - low) /
                       static_cast<float>(s.high_freq_factor - s.low_freq_factor);
  const bool medium = !(wavelen < high_freq_wavelen) && !(wavelen > low_freq_wavelen);
  return medium ? ((1.0f - smooth) * scaled) / factor + smooth * scaled : scaled;
}

}  // namespace

std::vector<float> RopeInvFreq(int64_t D, double theta, const RopeScaling& scaling) {
  AFTUNE_CHECK(D % 2 == 0);
  std::vector<float> inv_freq(static_cast<size_t>(D / 2));
  float log_theta = LogF(static_cast<float>(theta));
  for (int64_t i = 0; i < D / 2; ++i) {
    float exponent = static_cast<float>(2 * i) / static_cast<float>(D);
    float f = 1.0f / ExpF(exponent * log_theta);
    switch (scaling.type) {
      case RopeType::kDefault: break;
      case RopeType::kLinear: f = f / static_cast<float>(scaling.factor); break;
      case RopeType::kLlama3: f = Llama3Scaled(f, scaling); break;
    }
    inv_freq[i] = f;
  }
  return inv_freq;
}

RopeTable MakeRopeTable(int64_t D, int64_t max_pos, double theta, const RopeScaling& scaling, int64_t cached) {
  AFTUNE_CHECK(D % 2 == 0 && max_pos >= 1);
  RopeTable t;
  t.half_dim = D / 2;
  t.max_pos = max_pos;
  t.inv_freq = RopeInvFreq(D, theta, scaling);
  const std::vector<float>& inv_freq = t.inv_freq;
  cached = std::clamp<int64_t>(cached, 1, max_pos);
  t.cos.resize(static_cast<size_t>(cached * t.half_dim));
  t.sin.resize(t.cos.size());
  for (int64_t p = 0; p < cached; ++p) {
    for (int64_t i = 0; i < t.half_dim; ++i) {
      float angle = static_cast<float>(p) * inv_freq[i];
      t.cos[p * t.half_dim + i] = CosF(angle);
      t.sin[p * t.half_dim + i] = SinF(angle);
    }
  }
  return t;
}

void RopeApply(float* x, const int32_t* pos, int64_t N, int64_t heads, int64_t D,
               const RopeTable& table, bool inverse) {
  const int64_t half = D / 2;
  AFTUNE_CHECK(half == table.half_dim);
  const int64_t cached = table.cached();
  DefaultPool().ParallelFor(N, 16, [&](int64_t begin, int64_t end) {
    std::vector<float> row_cos, row_sin;  // a position beyond the tables
    for (int64_t n = begin; n < end; ++n) {
      AFTUNE_CHECK(pos[n] >= 0 && pos[n] < table.max_pos);
      const float* c;
      const float* s;
      if (pos[n] < cached) {
        c = table.cos.data() + pos[n] * half;
        s = table.sin.data() + pos[n] * half;
      } else {
        row_cos.resize(static_cast<size_t>(half));
        row_sin.resize(static_cast<size_t>(half));
        for (int64_t i = 0; i < half; ++i) {
          const float angle = static_cast<float>(pos[n]) * table.inv_freq[i];  // as MakeRopeTable
          row_cos[i] = CosF(angle);
          row_sin[i] = SinF(angle);
        }
        c = row_cos.data();
        s = row_sin.data();
      }
      for (int64_t h = 0; h < heads; ++h) {
        float* v = x + (n * heads + h) * D;
        for (int64_t i = 0; i < half; ++i) {
          float a = v[i], b = v[i + half];
          float sn = inverse ? -s[i] : s[i];
          v[i] = a * c[i] - b * sn;
          v[i + half] = b * c[i] + a * sn;
        }
      }
    }
  });
}

}  // namespace aftune
