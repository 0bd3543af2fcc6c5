// The machine's read bandwidth as a benchmark's yardstick: one read-only pass
// over a buffer, split over a pool's threads (each sums its contiguous part;
// the sums keep the loop from being optimised away).
#pragma once

#include <cstdint>
#include <vector>

#include "tensor/thread_pool.h"

namespace aftune_bench {

// Reads every word of buf once; returns the sum of the parts' sums.
inline uint64_t ReadPass(const std::vector<uint64_t>& buf, aftune::ThreadPool& pool) {
  const int64_t n = static_cast<int64_t>(buf.size()), parts = pool.num_threads();
  std::vector<uint64_t> sums(static_cast<size_t>(parts));
  pool.ParallelFor(parts, 1, [&](int64_t begin, int64_t end) {
    for (int64_t part = begin; part < end; ++part) {
      uint64_t acc[8] = {};
      const uint64_t* p = buf.data() + part * n / parts;
      const int64_t len = (part + 1) * n / parts - part * n / parts;
      for (int64_t i = 0; i + 8 <= len; i += 8)
        for (int j = 0; j < 8; ++j) acc[j] += p[i + j];
      for (int j = 1; j < 8; ++j) acc[0] += acc[j];
      sums[static_cast<size_t>(part)] = acc[0];
    }
  });
  uint64_t total = 0;
  for (uint64_t s : sums) total += s;
  return total;
}

}  // namespace aftune_bench
