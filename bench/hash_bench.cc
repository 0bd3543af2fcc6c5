// Hashing throughput: aftune's tensor digest (64 KiB Merkle chunks) against a
// raw single-call OpenSSL SHA-256 over the same buffer, measured in the same
// run, plus memcpy bandwidth as the memory ceiling. The target (issue 4): the
// tensor digest runs within 90% of OpenSSL's single-core SHA-256 rate per core.
//
// "Per core" figures divide the bytes by the CPU time the process spent
// (CLOCK_PROCESS_CPUTIME_ID), not by wall time times threads, so they stay
// meaningful on a machine shared with other work; wall-clock rates are
// printed beside them.
//
//   hash_bench [MiB=256] [reps=3]
#include <openssl/evp.h>

#include <algorithm>
#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "commit/digest.h"

namespace {

using Clock = std::chrono::steady_clock;

double CpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

struct Timing {
  double wall = 1e30;  // best wall-clock seconds
  double cpu = 1e30;   // least process CPU seconds
};

template <typename F>
Timing Measure(int reps, F&& f) {
  Timing t;
  for (int r = 0; r < reps; r++) {
    auto t0 = Clock::now();
    double c0 = CpuSeconds();
    f();
    t.cpu = std::min(t.cpu, CpuSeconds() - c0);
    t.wall = std::min(t.wall, std::chrono::duration<double>(Clock::now() - t0).count());
  }
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  size_t mib = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 256;
  int reps = argc > 2 ? std::atoi(argv[2]) : 3;
  size_t n = mib << 20;
  std::vector<uint8_t> buf(n), dst(n);
  for (size_t i = 0; i < n; i++) buf[i] = static_cast<uint8_t>(i * 2654435761u >> 13);
  std::memset(dst.data(), 1, n);
  double gb = static_cast<double>(n) / 1e9;
  unsigned cores = std::thread::hardware_concurrency();
  std::printf("hash_bench: %zu MiB buffer, best of %d, %u cores\n", mib, reps, cores);

  volatile uint8_t sink = 0;
  Timing t_memcpy = Measure(reps, [&] {
    std::memcpy(dst.data(), buf.data(), n);
    sink = sink + dst[n / 2];
  });

  unsigned char md[32];
  Timing t_ssl = Measure(reps, [&] {
    unsigned int len = 0;
    EVP_Digest(buf.data(), n, md, &len, EVP_sha256(), nullptr);
    sink = sink + md[0];
  });

  uint64_t dims[] = {n};
  aftune::Hash d1{}, d2{};
  Timing t_d1 = Measure(reps, [&] { d1 = aftune::TensorDigest("bench", "U8", dims, buf, 1); });
  Timing t_d2 = Measure(reps, [&] { d2 = aftune::TensorDigest("bench", "U8", dims, buf, 2); });
  if (d1 != d2) {
    std::fprintf(stderr, "tensor digest differs between 1 and 2 threads\n");
    return 1;
  }

  double ssl_core = gb / t_ssl.cpu;
  auto row = [&](const char* what, const Timing& t) {
    std::printf("%-36s %7.3f GB/s wall  %7.3f GB/s per core  %6.3f x OpenSSL per core\n", what, gb / t.wall,
                gb / t.cpu, gb / t.cpu / ssl_core);
  };
  std::printf("%-36s %7.3f GB/s wall\n", "memcpy", gb / t_memcpy.wall);
  row("OpenSSL SHA-256, one call", t_ssl);
  row("tensor digest, 1 thread", t_d1);
  row("tensor digest, 2 threads", t_d2);
  std::printf("wall speed-up 2 threads / 1 thread: %.2f; OpenSSL / memcpy: %.3f\n", t_d1.wall / t_d2.wall,
              t_memcpy.wall / t_ssl.wall);
  bool met = gb / t_d1.cpu >= 0.9 * ssl_core && gb / t_d2.cpu >= 0.9 * ssl_core;
  std::printf("target (tensor digest >= 0.90 x OpenSSL per core, 1 and 2 threads): %s\n", met ? "met" : "NOT met");
  (void)sink;
  return 0;
}
