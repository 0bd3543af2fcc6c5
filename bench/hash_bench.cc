// Hashing throughput: aftune's tensor digest (64 KiB Merkle chunks) against a
// raw single-call OpenSSL SHA-256 over the same buffer, measured in the same
// run, plus memcpy bandwidth as the memory ceiling. The target (issue 4): the
// tensor digest runs within 90% of OpenSSL's single-core SHA-256 rate per core.
//
//   hash_bench [MiB=256] [reps=3]
#include <openssl/evp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "commit/digest.h"

namespace {

using Clock = std::chrono::steady_clock;

template <typename F>
double BestSeconds(int reps, F&& f) {
  double best = 1e30;
  for (int r = 0; r < reps; r++) {
    auto t0 = Clock::now();
    f();
    best = std::min(best, std::chrono::duration<double>(Clock::now() - t0).count());
  }
  return best;
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
  double t_memcpy = BestSeconds(reps, [&] {
    std::memcpy(dst.data(), buf.data(), n);
    sink = sink + dst[n / 2];
  });

  unsigned char md[32];
  double t_ssl = BestSeconds(reps, [&] {
    unsigned int len = 0;
    EVP_Digest(buf.data(), n, md, &len, EVP_sha256(), nullptr);
    sink = sink + md[0];
  });

  uint64_t dims[] = {n};
  aftune::Hash d1{}, d2{};
  double t_d1 = BestSeconds(reps, [&] { d1 = aftune::TensorDigest("bench", "U8", dims, buf, 1); });
  double t_d2 = BestSeconds(reps, [&] { d2 = aftune::TensorDigest("bench", "U8", dims, buf, 2); });
  if (d1 != d2) {
    std::fprintf(stderr, "tensor digest differs between 1 and 2 threads\n");
    return 1;
  }

  double r_memcpy = gb / t_memcpy, r_ssl = gb / t_ssl, r_d1 = gb / t_d1, r_d2 = gb / t_d2;
  std::printf("%-34s %8.3f GB/s\n", "memcpy", r_memcpy);
  std::printf("%-34s %8.3f GB/s\n", "OpenSSL SHA-256, one call, 1 core", r_ssl);
  std::printf("%-34s %8.3f GB/s  %.3f GB/s/core  ratio to OpenSSL/core %.3f\n", "tensor digest, 1 thread", r_d1,
              r_d1, r_d1 / r_ssl);
  std::printf("%-34s %8.3f GB/s  %.3f GB/s/core  ratio to OpenSSL/core %.3f\n", "tensor digest, 2 threads", r_d2,
              r_d2 / 2, r_d2 / 2 / r_ssl);
  std::printf("speed-up 2 threads / 1 thread: %.2f; OpenSSL / memcpy: %.3f\n", r_d2 / r_d1, r_ssl / r_memcpy);
  std::printf("target: tensor digest >= 0.90 x OpenSSL per core: %s\n",
              r_d1 / r_ssl >= 0.90 && r_d2 / 2 / r_ssl >= 0.90 ? "met" : "NOT met");
  (void)sink;
  return 0;
}
