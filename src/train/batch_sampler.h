// The batch sampler: which examples each optimizer step trains on, as a pure
// function of (seed, number of examples, examples per step, step). The
// auditor calls the same functions to recompute a challenged step's batch.
//
// Epoch e visits every example once, in the order EpochPermutation(seed, n,
// e). The epoch is cut into StepsPerEpoch = ceil(n / b) steps of b examples
// (b = examples_per_step); the last step of an epoch is short when b does not
// divide n (it holds n - (ceil(n/b) - 1) * b examples) and is never filled
// from the next epoch, so every epoch sees each example exactly once. Global
// step s (from 0) lies in epoch s / StepsPerEpoch and takes the slice
// [k*b, min((k+1)*b, n)) of that epoch's permutation, k = s % StepsPerEpoch.
//
// EpochPermutation (format v1; docs/formats.md, "Batch sampling"):
//   words w_0, w_1, ... = Philox(seed, RandomPurpose::kShuffle, stream = e)
//                         .Word(0), .Word(1), ...   (consumed in order)
//   p = [0, 1, ..., n-1]
//   for i = n-1 down to 1:            (Durstenfeld's Fisher-Yates)
//     j = Bounded(i + 1)              (uniform in [0, i])
//     swap(p[i], p[j])
//   Bounded(r), Lemire's multiply-shift with rejection (unbiased):
//     m = w * r (64-bit product of the next word w and r); l = m mod 2^32
//     if l < r: t = 2^32 mod r; while l < t: m = (next word) * r; l = m mod 2^32
//     return m >> 32
//   A rejected word is consumed like an accepted one.
//
// Every function here is pure and thread-safe.
#pragma once

#include <cstdint>
#include <vector>

#include "base/status.h"
#include "tensor/philox.h"

namespace aftune {

// Checks sampler arguments that come from outside (a contract): n in
// [1, 2^32), examples_per_step >= 1. Errors name the argument.
Status CheckSamplerArgs(int64_t num_examples, int64_t examples_per_step);

// ceil(num_examples / examples_per_step).
// REQUIRES: CheckSamplerArgs(num_examples, examples_per_step).ok().
int64_t StepsPerEpoch(int64_t num_examples, int64_t examples_per_step);

// The epoch of global step `step`: step / StepsPerEpoch.
// REQUIRES: CheckSamplerArgs ok; step >= 0.
int64_t EpochOfStep(int64_t num_examples, int64_t examples_per_step, int64_t step);

// The order of epoch `epoch`: a permutation of [0, num_examples).
// REQUIRES: num_examples in [1, 2^32); epoch in [0, 2^32).
std::vector<int64_t> EpochPermutation(uint64_t seed, int64_t num_examples, int64_t epoch);

// The example indices of global optimizer step `step`, in batch order.
// REQUIRES: CheckSamplerArgs ok; step >= 0; EpochOfStep(...) < 2^32.
std::vector<int64_t> StepIndices(uint64_t seed, int64_t num_examples, int64_t examples_per_step, int64_t step);

// Lemire's unbiased bounded draw (above), generic in the word width so that
// tests can check it exhaustively on narrow words: U is the word type, W an
// unsigned type twice as wide, `next()` returns the next word.
// Returns a value in [0, range). REQUIRES: range >= 1.
template <typename U, typename W, typename Next>
U BoundedDraw(U range, Next&& next) {
  static_assert(sizeof(W) == 2 * sizeof(U));
  constexpr int kBits = 8 * sizeof(U);
  W m = static_cast<W>(static_cast<W>(next()) * range);
  U l = static_cast<U>(m);
  if (l < range) {
    const U t = static_cast<U>(static_cast<U>(static_cast<U>(0) - range) % range);  // 2^bits mod range
    while (l < t) {
      m = static_cast<W>(static_cast<W>(next()) * range);
      l = static_cast<U>(m);
    }
  }
  return static_cast<U>(m >> kBits);
}

// Words 0, 1, 2, ... of a Philox stream, one block computed per four words.
class PhiloxWords {
 public:
  explicit PhiloxWords(const Philox& p) : p_(p) {}
  uint32_t Next();
  uint64_t consumed() const { return next_; }  // words handed out so far

 private:
  const Philox& p_;
  uint64_t next_ = 0;
  PhiloxBlock block_{};
};

}  // namespace aftune
