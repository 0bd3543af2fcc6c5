#include "serve/connection_threads.h"

#include <thread>

namespace aftune {

void ConnectionThreads::enqueue(std::function<void()> fn) {
  {
    std::unique_lock<std::mutex> lk(mu_);
    changed_.wait(lk, [&] { return active_ < max_; });
    ++active_;
  }
  std::thread([this, fn = std::move(fn)] {
    fn();
    std::lock_guard<std::mutex> lk(mu_);
    --active_;
    changed_.notify_all();  // under the lock: shutdown may destroy *this once active_ is 0
  }).detach();
}

void ConnectionThreads::shutdown() {
  std::unique_lock<std::mutex> lk(mu_);
  changed_.wait(lk, [&] { return active_ == 0; });
}

}  // namespace aftune
