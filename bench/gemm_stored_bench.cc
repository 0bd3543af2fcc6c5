// Gemm with a bf16 B operand against the f32 Gemm, same shapes, same run.
//
// The shapes are the projections of llama-3.2-1b (C 2048, F 8192, 8 KV heads
// of 64): y [M, out] = x [M, in] W^T with W stored [out, in] (Trans::kT), as
// LinearForward calls it, for M = 1 .. 32 (decode, through the decode tiles)
// and 64, 512 (prefill, training; the packed route). Each cell is the best of
// 7 rounds of at least --min-ms; "bf16/f32" is the f32 time over the bf16 time
// (>= 0.95 is the target: widening while packing may cost at most 5%). Calls
// cycle through copies of W totalling >= 256 MiB of f32, so decode shapes read
// their weights from memory as a model's decode does, not from cache; "bf16
// GB/s" is then W's bytes read per second, against a read-only loop over 512
// MiB timed in the same run ("stream").
// --clock cpu times by the calling thread's CPU time (one thread only: a
// loaded machine deschedules the caller less visibly than wall time shows).
//
// Usage: gemm_stored_bench [--threads T] [--min-ms MS] [--only NAME] [--clock wall|cpu]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "bench/clock.h"
#include "bench/stream_read.h"
#include "tensor/dtype.h"
#include "tensor/gemm.h"
#include "tensor/tensor.h"
#include "tensor/thread_pool.h"

namespace {

using aftune::DType;
using aftune::StoredMatrix;
using aftune::Trans;

struct Projection {
  const char* name;
  int64_t out, in;
};
constexpr Projection kShapes[] = {
    {"q_proj/o_proj", 2048, 2048}, {"k_proj/v_proj", 512, 2048}, {"gate/up_proj", 8192, 2048},
    {"down_proj", 2048, 8192},
};

bool g_cpu_clock = false;
double Now() { return aftune_bench::Now(g_cpu_clock ? aftune_bench::ClockKind::kThreadCpu : aftune_bench::ClockKind::kWall); }

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
      const double t0 = Now();
      double elapsed = 0;
      do {
        fn();
        ++calls;
        elapsed = Now() - t0;
      } while (elapsed < min_s);
      best[i] = std::min(best[i], elapsed / calls);
      ++i;
    };
    (one(fns), ...);
  }
  return best;
}

// GB/s of a read-only pass over buf, split over the pool's threads.
double StreamRate(const std::vector<uint64_t>& buf, aftune::ThreadPool& pool, double min_s) {
  uint64_t sum = 0;
  const double s = Time(min_s, [&] { sum += aftune_bench::ReadPass(buf, pool); })[0];
  if (sum == 1) std::printf("#");  // keeps the passes live
  return static_cast<double>(buf.size()) * 8 / s / 1e9;
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
    else if (flag == "--clock") g_cpu_clock = std::string(argv[i + 1]) == "cpu";
    else {
      std::fprintf(stderr, "usage: gemm_stored_bench [--threads T] [--min-ms MS] [--only NAME] [--clock wall|cpu]\n");
      return 2;
    }
  }
  std::printf("%s clock\n", g_cpu_clock ? "calling thread's CPU" : "wall");
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  const std::vector<uint64_t> stream_buf(size_t{512} << 17, 1);
  for (int t : threads > 0 ? std::vector<int>{threads} : std::vector<int>{1, 2}) {
    aftune::ThreadPool pool(t);
    std::printf("%d thread(s): stream read %.2f GB/s\n", t, StreamRate(stream_buf, pool, min_s));
    std::printf("%-14s %5s %4s %10s %10s %9s %10s\n", "shape", "M", "thr", "f32 GF/s", "bf16 GF/s", "bf16/f32",
                "bf16 GB/s");
    for (const Projection& s : kShapes) {
      if (!only.empty() && std::string(s.name).find(only) == std::string::npos) continue;
      const int64_t N = s.out, K = s.in;
      const int64_t copies = std::max<int64_t>(1, ((int64_t{256} << 20) + N * K * 4 - 1) / (N * K * 4));
      std::vector<std::vector<uint16_t>> w16(static_cast<size_t>(copies));
      std::vector<aftune::FloatVector> w32(static_cast<size_t>(copies));
      for (int64_t c = 0; c < copies; ++c) {
        w16[c].resize(static_cast<size_t>(N * K));
        for (uint16_t& h : w16[c]) h = aftune::F32ToBF16(0.02f * u(rng));
        w32[c].resize(w16[c].size());
        for (size_t i = 0; i < w16[c].size(); ++i) w32[c][i] = aftune::BF16ToF32(w16[c][i]);
      }
      for (int64_t M : {1, 4, 8, 16, 32, 64, 512}) {
        aftune::FloatVector x(static_cast<size_t>(M * K)), y32(static_cast<size_t>(M * N)), y16(y32.size());
        for (float& v : x) v = u(rng);
        int64_t next32 = 0, next16 = 0;  // the copy each call reads
        auto f32_call = [&] {
          const float* w = w32[next32++ % copies].data();
          aftune::Gemm(Trans::kN, Trans::kT, M, N, K, x.data(), K, w, K, y32.data(), N, false, &pool);
        };
        auto bf16_call = [&] {
          const uint16_t* w = w16[next16++ % copies].data();
          aftune::Gemm(Trans::kN, Trans::kT, M, N, K, x.data(), K, StoredMatrix{DType::kBF16, w, K}, y16.data(), N,
                       false, &pool);
        };
        const std::vector<double> t2 = Time(min_s, f32_call, bf16_call);
        const double f32 = t2[0], bf16 = t2[1];
        next32 = next16 = 0;
        f32_call();
        bf16_call();
        if (std::memcmp(y32.data(), y16.data(), y32.size() * sizeof(float)) != 0) {
          std::fprintf(stderr, "%s M=%lld: bf16 result differs from f32 on the widened weights\n", s.name,
                       static_cast<long long>(M));
          return 1;
        }
        const double flops = 2.0 * static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K);
        std::printf("%-14s %5lld %4d %10.2f %10.2f %9.3f %10.2f\n", s.name, static_cast<long long>(M), t,
                    flops / f32 / 1e9, flops / bf16 / 1e9, f32 / bf16,
                    static_cast<double>(N * K * 2) / bf16 / 1e9);
        std::fflush(stdout);
      }
    }
  }
  return 0;
}
