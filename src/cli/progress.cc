#include "cli/progress.h"

#include <unistd.h>

#include <cstdio>

namespace aftune::cli {

Progress::Progress(int64_t total, int64_t log_every)
    : total_(total), log_every_(log_every < 1 ? 1 : log_every), tty_(::isatty(STDERR_FILENO) == 1) {}

std::string Progress::Line(int64_t done, float loss, float lr) const {
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double steps = static_cast<double>(done - first_done_);
  const double tps = secs > 0 ? static_cast<double>(tokens_) / secs : 0.0;
  const long eta = steps > 0 ? static_cast<long>(secs / steps * static_cast<double>(total_ - done)) : 0;
  char buf[200];
  std::snprintf(buf, sizeof buf, "step %lld/%lld  loss %.4f  lr %.2e  %.0f tokens/s  ETA %ld:%02ld",
                static_cast<long long>(done), static_cast<long long>(total_), loss, lr, tps, eta / 60, eta % 60);
  return buf;
}

void Progress::Update(int64_t done, float loss, float learning_rate, int64_t tokens) {
  if (first_done_ < 0) {
    // Time from the first finished step on: it includes warm-up costs.
    first_done_ = done;
    start_ = std::chrono::steady_clock::now();
  } else {
    tokens_ += tokens;
  }
  if (tty_) {
    std::fprintf(stderr, "\r%s\033[K", Line(done, loss, learning_rate).c_str());
    std::fflush(stderr);
  } else if (done % log_every_ == 0 || done == total_) {
    std::printf("%s\n", Line(done, loss, learning_rate).c_str());
    std::fflush(stdout);
  }
}

void Progress::Finish() {
  if (tty_) std::fprintf(stderr, "\n");
}

}  // namespace aftune::cli
