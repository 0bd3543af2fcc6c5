// OpenBLAS at its best, for the benchmarks that run it (directly or through
// PyTorch). OpenBLAS picks its kernel when it loads: from OPENBLAS_CORETYPE
// when set, else from the CPU model, and a model it does not know falls back
// to an old one (0.3.21 runs its SSE3 "Prescott" kernel on this machine's
// Xeon, model 207). The machine's environment may also pin it
// (OPENBLAS_CORETYPE, OPENBLAS_L2_SIZE). So the competitor's kernel is chosen
// by measurement: each candidate runs a 1024^3 sgemm on one thread in its own
// process, with the pins unset, and the fastest is used in the competitor's
// command alone. Tests and CI keep the environment as it is.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

namespace aftune::bench {

struct OpenBlasKernel {
  std::string coretype;  // OPENBLAS_CORETYPE to set ("" = leave unset: OpenBLAS detects)
  std::string corename;  // what OpenBLAS reports it runs
  double gflops = 0;     // the probe's 1-thread sgemm rate
};

// The environment-variable arguments of /usr/bin/env that run a competitor
// with this kernel and without the machine's pins.
inline std::vector<std::string> OpenBlasEnvArgs(const OpenBlasKernel& k) {
  std::vector<std::string> args = {"-u", "OPENBLAS_CORETYPE", "-u", "OPENBLAS_L2_SIZE"};
  if (!k.coretype.empty()) args.push_back("OPENBLAS_CORETYPE=" + k.coretype);
  return args;
}

// Runs the probe (numpy's sgemm, Debian's OpenBLAS) with one candidate.
inline OpenBlasKernel ProbeOpenBlas(const std::string& coretype) {
  OpenBlasKernel k{coretype, "?", 0};
  std::string cmd = "/usr/bin/env";
  for (const std::string& a : OpenBlasEnvArgs(k)) cmd += " " + a;
  cmd +=
      " OPENBLAS_NUM_THREADS=1 /usr/bin/python3 -c '"
      "import ctypes, time, numpy as np\n"
      "lib = ctypes.CDLL(\"libblas.so.3\"); lib.openblas_get_corename.restype = ctypes.c_char_p\n"
      "a = np.ones((1024, 1024), np.float32); b = np.ones((1024, 1024), np.float32); a @ b\n"
      "best = 1e9\n"
      "for _ in range(5):\n"
      "    t = time.perf_counter(); a @ b; best = min(best, time.perf_counter() - t)\n"
      "print(2 * 1024 ** 3 / best / 1e9, lib.openblas_get_corename().decode())' 2>/dev/null";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return k;
  char name[64] = {0};
  if (std::fscanf(p, "%lf %63s", &k.gflops, name) == 2) k.corename = name;
  ::pclose(p);
  return k;
}

// The fastest of OpenBLAS's own detection and the x86-64 kernels this
// machine may run; prints each candidate's rate.
inline OpenBlasKernel BestOpenBlasKernel() {
  OpenBlasKernel best;
  for (const char* c : {"", "Haswell", "SkylakeX", "Cooperlake"}) {
    OpenBlasKernel k = ProbeOpenBlas(c);
    std::printf("OpenBLAS probe: OPENBLAS_CORETYPE=%-10s -> kernel %-10s %6.1f GFLOP/s (1 thread, 1024^3)\n",
                c[0] ? c : "(unset)", k.corename.c_str(), k.gflops);
    if (k.gflops > best.gflops) best = k;
  }
  std::printf("OpenBLAS runs with %s%s (kernel %s)\n\n", best.coretype.empty() ? "its own detection" : "OPENBLAS_CORETYPE=",
              best.coretype.c_str(), best.corename.c_str());
  return best;
}

}  // namespace aftune::bench
