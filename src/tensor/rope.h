// Rotary position embedding (Su et al. 2021) in the Hugging Face LLaMA layout
// ("rotate_half": dimension i pairs with i + D/2).
//   inv_freq[i] = theta^(-2i/D),  angle = pos * inv_freq[i]   (i < D/2)
//   y[i]       = x[i] * cos - x[i + D/2] * sin
//   y[i + D/2] = x[i + D/2] * cos + x[i] * sin
// The backward pass is the rotation by -angle.
#pragma once

#include <cstdint>
#include <vector>

namespace aftune {

// cos/sin tables for positions [0, max_pos): [max_pos, D/2] each, computed
// with aftune's own ExpF/LogF/SinF/CosF in f32 (bit-identical everywhere).
struct RopeTable {
  int64_t half_dim = 0;
  std::vector<float> cos, sin;
};
// REQUIRES: D even, max_pos >= 1.
RopeTable MakeRopeTable(int64_t D, int64_t max_pos, double theta);

// x [N, heads, D] rotated in place; pos[n] is token n's position.
// REQUIRES: every pos < the table's max_pos. inverse = true for the backward.
void RopeApply(float* x, const int32_t* pos, int64_t N, int64_t heads, int64_t D,
               const RopeTable& table, bool inverse);

}  // namespace aftune
