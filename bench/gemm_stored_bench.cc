// Gemm with a bf16 B operand against the f32 Gemm, same shapes, same run.
//
// The shapes are the projections of llama-3.2-1b (C 2048, F 8192, 8 KV heads
// of 64): y [M, out] = x [M, in] W^T with W stored [out, in] (Trans::kT), as
// LinearForward calls it, for M = 1 and 4 (decode), 64 and 512 (prefill,
// training). Each cell is the best of several calls of at least --min-ms;
// "bf16/f32" is the f32 time over the bf16 time (>= 0.95 is the target:
// widening while packing may cost at most 5%). For M <= 4 it also times
// today's decode route, the f32 GEMM against a transposed copy of W
// (Decoder::CacheTransposedWeights), which bf16 weights make unnecessary.
//
// Usage: gemm_stored_bench [--threads T] [--min-ms MS] [--only NAME]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "tensor/dtype.h"
#include "tensor/gemm.h"
#include "tensor/tensor.h"
#include "tensor/thread_pool.h"

namespace {

using aftune::DType;
using aftune::StoredMatrix;
using aftune::Trans;
using Clock = std::chrono::steady_clock;

struct Projection {
  const char* name;
  int64_t out, in;
};
constexpr Projection kShapes[] = {
    {"q_proj/o_proj", 2048, 2048}, {"k_proj/v_proj", 512, 2048}, {"gate/up_proj", 8192, 2048},
    {"down_proj", 2048, 8192},
};

// Seconds per call of each of `fns`: the best mean over rounds of at least
// min_s each. Rounds alternate between the implementations, so a load that
// comes and goes on the shared machine hits them alike.
template <class... Fns>
std::vector<double> Time(double min_s, Fns&&... fns) {
  (fns(), ...);  // warm-up: page faults, pack buffers
  std::vector<double> best(sizeof...(fns), 1e30);
  for (int round = 0; round < 7; ++round) {
    size_t i = 0;
    auto one = [&](auto& fn) {
      int calls = 0;
      const auto t0 = Clock::now();
      double elapsed = 0;
      do {
        fn();
        ++calls;
        elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
      } while (elapsed < min_s);
      best[i] = std::min(best[i], elapsed / calls);
      ++i;
    };
    (one(fns), ...);
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 0;
  double min_s = 0.05;
  std::string only;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--threads") threads = std::atoi(argv[i + 1]);
    else if (flag == "--min-ms") min_s = std::atof(argv[i + 1]) / 1000.0;
    else if (flag == "--only") only = argv[i + 1];
    else {
      std::fprintf(stderr, "usage: gemm_stored_bench [--threads T] [--min-ms MS] [--only NAME]\n");
      return 2;
    }
  }
  std::printf("%-14s %5s %4s %10s %10s %9s %14s\n", "shape", "M", "thr", "f32 GF/s", "bf16 GF/s", "bf16/f32",
              "f32 W^T GF/s");
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (int t : threads > 0 ? std::vector<int>{threads} : std::vector<int>{1, 2}) {
    aftune::ThreadPool pool(t);
    for (const Projection& s : kShapes) {
      if (!only.empty() && std::string(s.name).find(only) == std::string::npos) continue;
      const int64_t N = s.out, K = s.in;
      std::vector<uint16_t> w16(static_cast<size_t>(N * K));
      for (uint16_t& h : w16) h = aftune::F32ToBF16(0.02f * u(rng));
      aftune::FloatVector w32(w16.size()), wt(w16.size());
      for (size_t i = 0; i < w16.size(); ++i) w32[i] = aftune::BF16ToF32(w16[i]);
      for (int64_t r = 0; r < N; ++r)
        for (int64_t c = 0; c < K; ++c) wt[static_cast<size_t>(c * N + r)] = w32[static_cast<size_t>(r * K + c)];
      for (int64_t M : {1, 4, 64, 512}) {
        aftune::FloatVector x(static_cast<size_t>(M * K)), y32(static_cast<size_t>(M * N)), y16(y32.size());
        for (float& v : x) v = u(rng);
        auto f32_call = [&] {
          aftune::Gemm(Trans::kN, Trans::kT, M, N, K, x.data(), K, w32.data(), K, y32.data(), N, false, &pool);
        };
        auto bf16_call = [&] {
          aftune::Gemm(Trans::kN, Trans::kT, M, N, K, x.data(), K, StoredMatrix{DType::kBF16, w16.data(), K},
                       y16.data(), N, false, &pool);
        };
        const std::vector<double> t2 = Time(min_s, f32_call, bf16_call);
        const double f32 = t2[0], bf16 = t2[1];
        if (std::memcmp(y32.data(), y16.data(), y32.size() * sizeof(float)) != 0) {
          std::fprintf(stderr, "%s M=%lld: bf16 result differs from f32 on the widened weights\n", s.name,
                       static_cast<long long>(M));
          return 1;
        }
        const double flops = 2.0 * static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K);
        std::string transposed = "-";
        if (M <= 4) {
          aftune::FloatVector yt(y32.size());
          const double tt = Time(min_s, [&] {
            aftune::Gemm(Trans::kN, Trans::kN, M, N, K, x.data(), K, wt.data(), N, yt.data(), N, false, &pool);
          })[0];
          char buf[32];
          std::snprintf(buf, sizeof buf, "%.2f", flops / tt / 1e9);
          transposed = buf;
        }
        std::printf("%-14s %5lld %4d %10.2f %10.2f %9.3f %14s\n", s.name, static_cast<long long>(M), t,
                    flops / f32 / 1e9, flops / bf16 / 1e9, f32 / bf16, transposed.c_str());
        std::fflush(stdout);
      }
    }
  }
  return 0;
}
