// Rotary position embedding (Su et al. 2021) in the Hugging Face LLaMA layout
// ("rotate_half": dimension i pairs with i + D/2).
//   inv_freq[i] = theta^(-2i/D), then scaled (below),  angle = pos * inv_freq[i]   (i < D/2)
//   y[i]       = x[i] * cos - x[i + D/2] * sin
//   y[i + D/2] = x[i + D/2] * cos + x[i] * sin
// The backward pass is the rotation by -angle.
//
// Frequency scaling, as transformers' ROPE_INIT_FUNCTIONS compute it, in f32
// with the same operations in the same order (comparisons and arithmetic on
// f32 values, Python scalars rounded to f32 where torch rounds them):
//   linear: inv_freq / factor
//   llama3 (Llama 3.1): with old = original_max_position_embeddings,
//     wavelen = (1 / inv_freq) * f32(2 pi)
//     scaled  = wavelen > f32(old / low_freq_factor) ? inv_freq / factor : inv_freq
//     smooth  = ((1 / wavelen) * old - low_freq_factor) / (high_freq_factor - low_freq_factor)
//     medium  = !(wavelen < f32(old / high_freq_factor)) && !(wavelen > f32(old / low_freq_factor))
//     result  = medium ? ((1 - smooth) * scaled) / factor + smooth * scaled : scaled
// Both keep transformers' attention_factor of 1 (cos and sin unscaled).
#pragma once

#include <cstdint>
#include <vector>

namespace aftune {

enum class RopeType { kDefault, kLinear, kLlama3 };

struct RopeScaling {
  RopeType type = RopeType::kDefault;
  double factor = 1.0;                          // linear, llama3
  double low_freq_factor = 0.0;                 // llama3
  double high_freq_factor = 0.0;                // llama3
  int64_t original_max_position_embeddings = 0; // llama3
};

// The D/2 inverse frequencies, scaled. REQUIRES: D even; for llama3
// factor > 0 and high_freq_factor != low_freq_factor.
std::vector<float> RopeInvFreq(int64_t D, double theta, const RopeScaling& scaling);

// Rotations for positions [0, max_pos), computed with aftune's own
// ExpF/LogF/SinF/CosF in f32 (bit-identical everywhere): cos/sin tables
// [cached, D/2] for the first `cached` positions, and positions beyond them
// computed as used, from the same angle with the same functions (so the same
// bits). Models declare up to 131072 positions (34 MB of tables at D = 64)
// and most runs use a few thousand.
struct RopeTable {
  int64_t half_dim = 0;
  int64_t max_pos = 0;
  std::vector<float> inv_freq;  // [D/2]
  std::vector<float> cos, sin;  // [cached, D/2]
  int64_t cached() const { return half_dim ? static_cast<int64_t>(cos.size()) / half_dim : 0; }
};
inline constexpr int64_t kRopeCachedPositions = 8192;
// REQUIRES: D even, max_pos >= 1, RopeInvFreq's. cached: positions tabulated
// (at most max_pos).
RopeTable MakeRopeTable(int64_t D, int64_t max_pos, double theta, const RopeScaling& scaling = {},
                        int64_t cached = kRopeCachedPositions);

// x [N, heads, D] rotated in place; pos[n] is token n's position.
// REQUIRES: every pos < the table's max_pos. inverse = true for the backward.
void RopeApply(float* x, const int32_t* pos, int64_t N, int64_t heads, int64_t D,
               const RopeTable& table, bool inverse);

}  // namespace aftune
