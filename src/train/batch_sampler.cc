// The batch sampler; the algorithm is specified in batch_sampler.h.
#include "train/batch_sampler.h"

#include <algorithm>
#include <string>
#include <utility>

namespace aftune {

namespace {
constexpr int64_t kMaxExamples = int64_t{1} << 32;  // exclusive: ranges fit in 32 bits
}  // namespace

uint32_t PhiloxWords::Next() {
  if (next_ % 4 == 0) block_ = p_.Block(next_ / 4);
  return block_[next_++ % 4];
}

Status CheckSamplerArgs(int64_t num_examples, int64_t examples_per_step) {
  if (num_examples < 1 || num_examples >= kMaxExamples) {
    return Status::InvalidArgument("number of examples must be in [1, 2^32), not " + std::to_string(num_examples));
  }
  if (examples_per_step < 1) {
    return Status::InvalidArgument("examples per step must be at least 1, not " + std::to_string(examples_per_step));
  }
  return Status::Ok();
}

int64_t StepsPerEpoch(int64_t num_examples, int64_t examples_per_step) {
  AFTUNE_CHECK(CheckSamplerArgs(num_examples, examples_per_step).ok());
  return num_examples / examples_per_step + (num_examples % examples_per_step != 0 ? 1 : 0);
}

int64_t EpochOfStep(int64_t num_examples, int64_t examples_per_step, int64_t step) {
  AFTUNE_CHECK(step >= 0);
  return step / StepsPerEpoch(num_examples, examples_per_step);
}

std::vector<int64_t> EpochPermutation(uint64_t seed, int64_t num_examples, int64_t epoch) {
  AFTUNE_CHECK(num_examples >= 1 && num_examples < kMaxExamples);
  AFTUNE_CHECK(epoch >= 0 && epoch < (int64_t{1} << 32));
  const Philox philox(seed, RandomPurpose::kShuffle, static_cast<uint32_t>(epoch));
  PhiloxWords words(philox);
  std::vector<int64_t> p(static_cast<size_t>(num_examples));
  for (size_t i = 0; i < p.size(); ++i) p[i] = static_cast<int64_t>(i);
  for (size_t i = p.size() - 1; i >= 1; --i) {
    const auto range = static_cast<uint32_t>(i + 1);
    const uint32_t j = BoundedDraw<uint32_t, uint64_t>(range, [&words] { return words.Next(); });
    std::swap(p[i], p[j]);
  }
  return p;
}

std::vector<int64_t> StepIndices(uint64_t seed, int64_t num_examples, int64_t examples_per_step, int64_t step) {
  const int64_t spe = StepsPerEpoch(num_examples, examples_per_step);
  AFTUNE_CHECK(step >= 0);
  const int64_t epoch = step / spe, k = step % spe;
  std::vector<int64_t> perm = EpochPermutation(seed, num_examples, epoch);
  const int64_t begin = k * examples_per_step;
  const int64_t end = std::min(num_examples, begin + examples_per_step);
  return std::vector<int64_t>(perm.begin() + begin, perm.begin() + end);
}

}  // namespace aftune
