// Stopping a server command cleanly on SIGINT or SIGTERM: the signals are
// blocked in every thread (so no handler runs anywhere) and taken by one
// waiting thread, which calls the server's stop.
#pragma once

#include <signal.h>

#include <functional>

#include "base/status.h"

namespace aftune::cli {

// Blocks SIGINT and SIGTERM in the calling thread and in every thread it
// starts after. REQUIRES: called before any thread is started.
sigset_t BlockStopSignals();

// Runs `run` (which serves until `stop` is called) and calls `stop` when
// one of `signals` arrives; returns run's status.
Status RunUntilStopSignal(const sigset_t& signals, const std::function<Status()>& run,
                          const std::function<void()>& stop);

}  // namespace aftune::cli
