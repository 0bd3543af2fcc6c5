// Gemm throughput against OpenBLAS cblas_sgemm, same shapes, same run.
//
// For every shape and for 1 and 2 threads it prints GFLOP/s (2*M*N*K / best time)
// of aftune's Gemm (the build's default kernel, and the AVX2 6x16 kernel when the
// default is wider), of OpenBLAS, and the ratio aftune / OpenBLAS. The FMA peak is
// measured here with a register-only loop of independent vfmadd231ps (12 chains,
// ymm and zmm), so "% peak" is relative to what this core sustains right now.
//
// Usage: gemm_bench [--rounds R] [--min-ms T] [--wall] [--only TEXT] [--threads T] [--check]
//   R rounds (default 7) of at least T ms (default 60) per implementation; the best
//   single call over all rounds counts. Rounds alternate aftune and OpenBLAS, with
//   a pause after OpenBLAS so its spinning worker threads have gone to sleep.
//   One-thread runs are timed by the calling thread's CPU time (all their work runs
//   on it), which a busy shared machine disturbs far less than wall time: the mean
//   per call over a round, best round. --wall times them by wall clock too. Wall
//   clock timings (two threads always) take the fastest single call.
//   --only runs the shapes whose name contains TEXT; --threads T only T threads
//   (default: 1, then 2).
//   --check also compares aftune with GemmReference on every shape (slow).
#include <cblas.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <time.h>
#include <vector>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#endif

#include "bench/openblas_kernel.h"
#include "tensor/gemm.h"
#include "tensor/gemm_isa.h"
#include "tensor/tensor.h"
#include "tensor/thread_pool.h"

namespace {

using aftune::FloatVector;
using aftune::GemmIsa;
using aftune::Trans;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// CPU time of the calling thread: immune to being descheduled on a shared machine.
double ThreadCpuSeconds() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

// Single-thread FMA throughput in GFLOP/s for one vector width: 12 independent
// accumulator chains (more than latency x ports), nothing but vfmadd231ps.
#if defined(__AVX2__) && defined(__FMA__)
template <typename V, V (*Fma)(V, V, V), V (*Set1)(float)>
double FmaPeak(int lanes) {
  const V a = Set1(1.0f), b = Set1(1e-9f);
  // Named accumulators (an array of vectors may live in memory with GCC).
  V c0 = Set1(0), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0;
  V c6 = c0, c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0;
  const long iters = 20'000'000;
  double best = 0;
  for (int rep = 0; rep < 10; ++rep) {
    const double t0 = ThreadCpuSeconds();
    for (long i = 0; i < iters; ++i) {
      c0 = Fma(a, b, c0), c1 = Fma(a, b, c1), c2 = Fma(a, b, c2), c3 = Fma(a, b, c3);
      c4 = Fma(a, b, c4), c5 = Fma(a, b, c5), c6 = Fma(a, b, c6), c7 = Fma(a, b, c7);
      c8 = Fma(a, b, c8), c9 = Fma(a, b, c9), c10 = Fma(a, b, c10), c11 = Fma(a, b, c11);
      __asm__ volatile("" : "+x"(c0), "+x"(c1), "+x"(c2), "+x"(c3), "+x"(c4), "+x"(c5));
      __asm__ volatile("" : "+x"(c6), "+x"(c7), "+x"(c8), "+x"(c9), "+x"(c10), "+x"(c11));
    }
    best = std::max(best, 12.0 * iters * lanes * 2 / (ThreadCpuSeconds() - t0) / 1e9);
  }
  return best;
}
__m256 Set1Ymm(float x) { return _mm256_set1_ps(x); }
#if defined(__AVX512F__)
__m512 Set1Zmm(float x) { return _mm512_set1_ps(x); }
#endif
#endif

struct Shape {
  const char* what;
  Trans ta, tb;
  int64_t M, N, K;
};

struct Operands {
  int64_t lda, ldb, ldc;
  FloatVector a, b, c;
  explicit Operands(const Shape& s) {
    lda = s.ta == Trans::kN ? s.K : s.M;
    ldb = s.tb == Trans::kN ? s.N : s.K;
    ldc = s.N;
    std::mt19937 rng(1);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    a.resize(static_cast<size_t>(s.M * s.K));
    b.resize(static_cast<size_t>(s.K * s.N));
    c.resize(static_cast<size_t>(s.M * s.N));
    for (float& x : a) x = u(rng);
    for (float& x : b) x = u(rng);
  }
};

// Best seconds per call of fn over calls lasting at least min_s in total.
// Seconds per call of fn, over calls lasting at least min_s in total. By wall
// clock: the fastest single call. By the calling thread's CPU time (cpu_clock;
// meaningful only when all the work runs on the calling thread): the mean over
// all the calls, because on a virtual machine the CPU time of one short call can
// come out too small (stolen time is subtracted coarsely), and a minimum would
// pick exactly those errors.
template <typename Fn>
double TimeCalls(const Fn& fn, double min_s, bool cpu_clock) {
  double best = 1e30, total = 0;
  int calls = 0;
  const double c0 = ThreadCpuSeconds();
  while (total < min_s || calls < 3) {
    const auto w0 = Clock::now();
    fn();
    const double s = Seconds(w0, Clock::now());
    best = std::min(best, s);
    total += s;
    ++calls;
  }
  return cpu_clock ? (ThreadCpuSeconds() - c0) / calls : best;
}

CBLAS_TRANSPOSE Cblas(Trans t) { return t == Trans::kN ? CblasNoTrans : CblasTrans; }

}  // namespace

// OpenBLAS at its best (bench/openblas_kernel.h). It shares this process and
// reads its kernel choice when it loads, so the bench restarts itself once
// with the chosen environment; aftune reads none of these variables.
void RestartWithBestOpenBlas(char** argv) {
  if (std::getenv("AFTUNE_BENCH_OPENBLAS_CHOSEN") != nullptr) return;
  const aftune::bench::OpenBlasKernel k = aftune::bench::BestOpenBlasKernel();
  std::fflush(stdout);
  unsetenv("OPENBLAS_CORETYPE");
  unsetenv("OPENBLAS_L2_SIZE");
  if (!k.coretype.empty()) setenv("OPENBLAS_CORETYPE", k.coretype.c_str(), 1);
  setenv("AFTUNE_BENCH_OPENBLAS_CHOSEN", "1", 1);
  execv("/proc/self/exe", argv);
  std::perror("gemm_bench: execv /proc/self/exe");
  std::exit(2);
}

int main(int argc, char** argv) {
  RestartWithBestOpenBlas(argv);
  int rounds = 7;
  double min_s = 0.060;
  bool check = false, wall_only = false;
  std::string only;
  std::vector<int> thread_counts = {1, 2};
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--rounds" && i + 1 < argc) rounds = std::atoi(argv[++i]);
    else if (arg == "--min-ms" && i + 1 < argc) min_s = std::atof(argv[++i]) / 1000.0;
    else if (arg == "--check") check = true;
    else if (arg == "--wall") wall_only = true;
    else if (arg == "--only" && i + 1 < argc) only = argv[++i];
    else if (arg == "--threads" && i + 1 < argc) thread_counts = {std::atoi(argv[++i])};
    else {
      std::fprintf(stderr,
                   "usage: gemm_bench [--rounds R] [--min-ms T] [--wall] [--only TEXT]"
                   " [--threads T] [--check]\n");
      return 2;
    }
  }

  const GemmIsa def = aftune::GemmDefaultIsa();
  const bool also_avx2 = def == GemmIsa::kAvx512 && aftune::GemmIsaCompiled(GemmIsa::kAvx2);
  double peak_ymm = 0, peak_zmm = 0;
#if defined(__AVX2__) && defined(__FMA__)
  peak_ymm = FmaPeak<__m256, _mm256_fmadd_ps, Set1Ymm>(8);
#if defined(__AVX512F__)
  peak_zmm = FmaPeak<__m512, _mm512_fmadd_ps, Set1Zmm>(16);
#endif
#endif
  std::printf("OpenBLAS: %s, kernel %s\n", openblas_get_config(), openblas_get_corename());
  std::printf("aftune default kernel: %s\n", aftune::GemmIsaName(def));
  std::printf("measured 1-thread FMA peak: AVX2 (ymm) %.1f GFLOP/s, AVX-512 (zmm) %.1f GFLOP/s"
              " (= %.2f GHz x 2 FMA/cycle x 8 resp. 16 lanes x 2 flops)\n",
              peak_ymm, peak_zmm, peak_ymm / 32);
  std::printf("best of %d rounds x >= %.0f ms; GFLOP/s = 2*M*N*K / time per call; 1 thread: %s,"
              " 2 threads: fastest call by wall clock\n\n",
              rounds, min_s * 1000,
              wall_only ? "fastest call by wall clock"
                        : "mean thread CPU time per call in a round");

  const Trans N = Trans::kN, T = Trans::kT;
  const std::vector<Shape> shapes = {
      {"square", N, N, 1024, 1024, 1024},
      {"fwd q/o proj", N, T, 1024, 384, 384},
      {"fwd k/v proj", N, T, 1024, 128, 384},
      {"fwd mlp up/gate", N, T, 1024, 1024, 384},
      {"fwd mlp down", N, T, 1024, 384, 1024},
      {"fwd lm head", N, T, 1024, 259, 384},
      {"bwd dX q/o", N, N, 1024, 384, 384},
      {"bwd dX k/v", N, N, 1024, 384, 128},
      {"bwd dX mlp up", N, N, 1024, 384, 1024},
      {"bwd dX mlp down", N, N, 1024, 1024, 384},
      {"bwd dW q/o", T, N, 384, 384, 1024},
      {"bwd dW k/v", T, N, 128, 384, 1024},
      {"bwd dW mlp up", T, N, 1024, 384, 1024},
      {"bwd dW mlp down", T, N, 384, 1024, 1024},
      {"bwd dW lm head", T, N, 259, 384, 1024},
      {"decode q/o (info)", N, T, 1, 384, 384},
      {"decode mlp up (info)", N, T, 1, 1024, 384},
      {"decode mlp down (info)", N, T, 1, 384, 1024},
      // llama-3.2-1b's gate/up and down projections in f32: 64 MiB of
      // weights, read from memory rather than cache as in a model's decode.
      {"decode 1b gate (info)", N, T, 1, 8192, 2048},
      {"decode 1b down (info)", N, T, 1, 2048, 8192},
  };

  std::printf("%-22s %2s %16s %3s %7s %7s %8s %7s %7s %6s %6s\n", "shape", "op", "M x N x K", "thr",
              "aftune", "avx2", "OpenBLAS", "ratio", "avx2/OB", "%pkY", "%pkZ");
  double worst_ratio = 1e30, worst_ratio_avx2 = 1e30;
  for (const Shape& s : shapes) {
    if (!only.empty() && std::string(s.what).find(only) == std::string::npos) continue;
    Operands o(s);
    const double flop = 2.0 * static_cast<double>(s.M * s.N * s.K);
    const bool info = std::strstr(s.what, "(info)") != nullptr;
    for (int threads : thread_counts) {
      aftune::ThreadPool pool(threads);
      openblas_set_num_threads(threads);
      // One thread: everything runs on this thread (aftune's pool of 1 and
      // OpenBLAS with 1 thread both compute on the caller), so its CPU time is
      // the compute time even when other processes share the cores.
      const bool cpu_clock = threads == 1 && !wall_only;
      auto ours = [&] {
        aftune::Gemm(s.ta, s.tb, s.M, s.N, s.K, o.a.data(), o.lda, o.b.data(), o.ldb,
                     o.c.data(), o.ldc, false, &pool);
      };
      auto ours_avx2 = [&] {
        aftune::GemmWithIsa(GemmIsa::kAvx2, s.ta, s.tb, s.M, s.N, s.K, o.a.data(), o.lda,
                            o.b.data(), o.ldb, o.c.data(), o.ldc, false, &pool);
      };
      auto blas = [&] {
        cblas_sgemm(CblasRowMajor, Cblas(s.ta), Cblas(s.tb), static_cast<int>(s.M),
                    static_cast<int>(s.N), static_cast<int>(s.K), 1.0f, o.a.data(),
                    static_cast<int>(o.lda), o.b.data(), static_cast<int>(o.ldb), 0.0f,
                    o.c.data(), static_cast<int>(o.ldc));
      };
      double t_ours = 1e30, t_avx2 = 1e30, t_blas = 1e30;
      for (int r = 0; r < rounds; ++r) {
        t_ours = std::min(t_ours, TimeCalls(ours, min_s, cpu_clock));
        if (also_avx2) t_avx2 = std::min(t_avx2, TimeCalls(ours_avx2, min_s, cpu_clock));
        t_blas = std::min(t_blas, TimeCalls(blas, min_s, cpu_clock));
        std::this_thread::sleep_for(std::chrono::milliseconds(120));
      }
      const double g_ours = flop / t_ours / 1e9, g_blas = flop / t_blas / 1e9;
      const double g_avx2 = also_avx2 ? flop / t_avx2 / 1e9 : g_ours;
      const double ratio = g_ours / g_blas, ratio_avx2 = g_avx2 / g_blas;
      if (!info) {
        worst_ratio = std::min(worst_ratio, ratio);
        worst_ratio_avx2 = std::min(worst_ratio_avx2, ratio_avx2);
      }
      char dims[48];
      std::snprintf(dims, sizeof(dims), "%lldx%lldx%lld", static_cast<long long>(s.M),
                    static_cast<long long>(s.N), static_cast<long long>(s.K));
      std::printf("%-22s %c%c %16s %3d %7.1f %7.1f %8.1f %7.2f %7.2f", s.what,
                  s.ta == N ? 'N' : 'T', s.tb == N ? 'N' : 'T', dims, threads, g_ours, g_avx2,
                  g_blas, ratio, ratio_avx2);
      if (threads == 1 && peak_ymm > 0)
        std::printf(" %5.0f%% %5.0f%%", 100 * g_avx2 / peak_ymm,
                    peak_zmm > 0 ? 100 * g_ours / peak_zmm : 0.0);
      std::printf("\n");
      std::fflush(stdout);
    }
    if (check) {
      FloatVector want(o.c.size()), got(o.c.size());
      aftune::GemmReference(s.ta, s.tb, s.M, s.N, s.K, o.a.data(), o.lda, o.b.data(), o.ldb,
                            want.data(), o.ldc, false);
      aftune::ThreadPool pool(2);
      aftune::Gemm(s.ta, s.tb, s.M, s.N, s.K, o.a.data(), o.lda, o.b.data(), o.ldb, got.data(),
                   o.ldc, false, &pool);
      if (std::memcmp(want.data(), got.data(), want.size() * sizeof(float)) != 0) {
        std::printf("MISMATCH against GemmReference: %s\n", s.what);
        return 1;
      }
    }
  }
  std::printf("\nworst ratio over the training shapes (1 and 2 threads): default kernel %.2f,"
              " avx2 kernel %.2f\n", worst_ratio, worst_ratio_avx2);
  std::printf("%%pkY: AVX2 kernel, 1 thread, of the ymm FMA peak; %%pkZ: default kernel of the"
              " zmm FMA peak\n");
  return 0;
}
