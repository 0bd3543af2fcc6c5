// The clocks benchmarks time by: wall, or CPU time (which a loaded machine's
// descheduling does not inflate; equal to wall time only for work on one
// thread). Header-only, no aftune dependency: bench/llamacpp/ uses it too.
#pragma once

#include <time.h>

namespace aftune_bench {

enum class ClockKind { kWall, kProcessCpu, kThreadCpu };

// Seconds on `kind`'s clock from an arbitrary origin.
inline double Now(ClockKind kind) {
  timespec ts;
  clock_gettime(kind == ClockKind::kWall         ? CLOCK_MONOTONIC
                : kind == ClockKind::kProcessCpu ? CLOCK_PROCESS_CPUTIME_ID
                                                 : CLOCK_THREAD_CPUTIME_ID,
                &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

}  // namespace aftune_bench
