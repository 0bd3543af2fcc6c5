// Progress of a long loop: a live line on a terminal (step, loss, tokens/s,
// ETA), plain log lines every `log_every` steps otherwise.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace aftune::cli {

class Progress {
 public:
  Progress(int64_t total, int64_t log_every);
  // Reports step `done` (1-based count of finished steps) with its figures.
  void Update(int64_t done, float loss, float learning_rate, int64_t tokens);
  // Ends the live line.
  void Finish();

 private:
  std::string Line(int64_t done, float loss, float lr) const;
  int64_t total_, log_every_;
  bool tty_;
  int64_t first_done_ = -1, tokens_ = 0;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace aftune::cli
