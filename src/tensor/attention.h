// Causal scaled-dot-product attention with grouped-query heads, over a packed
// batch of sequences (each attends only to itself).
//
// Shapes: q [N, H*D], k and v [N, Hk*D], out [N, H*D]; head h reads kv-head
// h / (H / Hk). Sequence s owns rows [starts[s], starts[s+1]).
//
// A sliding window W (Mistral) restricts row i to positions j with
// i - W < j <= i, the banded causal mask transformers builds
// (masking_utils.sliding_window_overlay: kv_idx > q_idx - sliding_window):
// W positions, the row itself included. Below, j0 = max(0, i - W + 1), or 0
// without a window.
//
// Canonical order, for query row i of a head (positions j = j0..i):
//   s_j = (fma chain over d ascending of q[d] * k_j[d]) * scale
//   m = max_j s_j,  e_j = ExpF(s_j - m),  Z = sum over j ascending of e_j
//   p_j = e_j / Z,  out[d] = fma chain over j ascending of p_j * v_j[d]
// A row's result depends only on its own sequence's rows j0..i, and the same
// routine serves training, prefill and KV-cache decode (AttendRow), so decoding
// is bit-identical to one teacher-forced pass (batch invariance).
// Threads split over (sequence, kv-head) pairs.
#pragma once

#include <cstdint>

namespace aftune {

struct AttentionDims {
  int64_t H = 0, Hk = 0, D = 0;
  float scale = 0.0f;  // usually RsqrtF(D)
  int64_t window = 0;  // W > 0: sliding window; 0: every earlier position
};

// The first position row `pos` attends to: max(0, pos - window + 1), or 0.
int64_t FirstAttended(int64_t pos, int64_t window);

// Floats needed for the saved probabilities of a packed batch: sum_s H * T_s^2.
int64_t AttentionProbsSize(const int64_t* starts, int64_t num_seqs, int64_t H);

// probs (nullable): saved softmax rows for the backward, AttentionProbsSize floats.
void CausalAttentionForward(const float* q, const float* k, const float* v, float* out, float* probs,
                            const int64_t* starts, int64_t num_seqs, const AttentionDims& dims);

// dout [N, H*D] -> dq [N, H*D], dk, dv [N, Hk*D] (all overwritten). For each
// kv-head, contributions to dk/dv are summed over its query heads in
// ascending order and, within a head, over query rows in ascending order.
void CausalAttentionBackward(const float* dout, const float* q, const float* k, const float* v,
                             const float* probs, float* dq, float* dk, float* dv,
                             const int64_t* starts, int64_t num_seqs, const AttentionDims& dims);

// Attention of new rows against cached keys and values (KV-cache decode and
// prefill). Sequence s's new rows are [starts[s], starts[s+1]) of q and out;
// row n sits at position positions[n] and attends to positions
// FirstAttended(positions[n], window)..positions[n].
// keys_t[s * Hk + g] is kv-head g's keys transposed, element (d, j) at
// [d * ldk[s] + j]; values[s * Hk + g] its values, element (j, d) at [j * D + d];
// both already hold every position a row attends to. Threads split over
// (sequence, kv-head) pairs.
void CachedAttentionForward(const float* q, float* out, const int64_t* starts, const int32_t* positions,
                            int64_t num_seqs, const float* const* keys_t, const float* const* values,
                            const int64_t* ldk, const AttentionDims& dims);

// The per-row routine: one query against P keys. kT is the head's keys
// transposed, kT[d * ldk + j]; v[j * ldv + d]. scratch holds P floats and
// receives the probabilities. out [D] is overwritten.
void AttendRow(const float* q, const float* kT, int64_t ldk, const float* v, int64_t ldv, int64_t P,
               int64_t D, float scale, float* scratch, float* out);

}  // namespace aftune
