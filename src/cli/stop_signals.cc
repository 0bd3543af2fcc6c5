#include "cli/stop_signals.h"

#include <pthread.h>

#include <thread>

namespace aftune::cli {

sigset_t BlockStopSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

Status RunUntilStopSignal(const sigset_t& signals, const std::function<Status()>& run,
                          const std::function<void()>& stop) {
  std::thread stopper([&stop, signals] {
    int sig = 0;
    sigwait(&signals, &sig);
    stop();
  });
  Status st = run();
  if (!st.ok()) pthread_kill(stopper.native_handle(), SIGTERM);  // wakes the waiting thread
  stopper.join();
  return st;
}

}  // namespace aftune::cli
