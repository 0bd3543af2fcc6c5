#include "tensor/thread_pool.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>

namespace aftune {

ThreadPool::ThreadPool(int num_threads) : num_threads_(std::max(1, num_threads)) {
  for (int w = 1; w < num_threads_; ++w) workers_.emplace_back([this, w] { WorkerLoop(w); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_.store(true);
  }
  start_cv_.notify_all();
  for (auto& t : workers_) t.join();
}

namespace {

// How long a thread polls before it sleeps: longer than a condition-variable
// wake-up, short enough not to matter when the next job is far off.
constexpr auto kSpin = std::chrono::microseconds(50);

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// Polls done() for up to kSpin; true when it became true. It yields between
// bursts, so a thread that the machine's other work needs still runs.
template <typename Done>
bool SpinUntil(Done done) {
  const auto deadline = std::chrono::steady_clock::now() + kSpin;
  for (;;) {
    for (int i = 0; i < 64; ++i) {
      if (done()) return true;
      CpuRelax();
    }
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::yield();
  }
}

}  // namespace

// Static assignment: worker w runs chunks w, w + T, w + 2T, ... The assignment
// affects only who computes a chunk, never what a chunk computes.
void ThreadPool::RunChunks(int worker) {
  for (int64_t c = worker; c < num_chunks_; c += num_threads_) {
    int64_t begin = c * chunk_;
    int64_t end = std::min(n_, begin + chunk_);
    (*fn_)(begin, end);
  }
}

uint64_t ThreadPool::AwaitJob(uint64_t seen) {
  auto ready = [&] { return generation_.load(std::memory_order_acquire) != seen || stop_.load(); };
  if (SpinUntil(ready)) return generation_.load(std::memory_order_acquire);
  std::unique_lock<std::mutex> lock(mu_);
  start_cv_.wait(lock, [&] { return stop_.load() || generation_.load() != seen; });
  return generation_.load(std::memory_order_acquire);
}

void ThreadPool::WorkerLoop(int worker) {
  uint64_t seen = 0;
  for (;;) {
    seen = AwaitJob(seen);
    if (stop_.load()) return;
    RunChunks(worker);
    // The last worker out wakes a caller that went to sleep.
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      std::lock_guard<std::mutex> lock(mu_);
      done_cv_.notify_one();
    }
  }
}

void ThreadPool::AwaitWorkers() {
  auto done = [&] { return pending_.load(std::memory_order_acquire) == 0; };
  if (SpinUntil(done)) return;
  std::unique_lock<std::mutex> lock(mu_);
  done_cv_.wait(lock, done);
}

void ThreadPool::ParallelFor(int64_t n, int64_t min_chunk,
                             const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  min_chunk = std::max<int64_t>(1, min_chunk);
  int64_t chunks = std::min<int64_t>(num_threads_, (n + min_chunk - 1) / min_chunk);
  if (chunks <= 1) {
    fn(0, n);
    return;
  }
  // The job's fields are published by the release of generation_, which a
  // worker acquires before reading them.
  fn_ = &fn;
  n_ = n;
  num_chunks_ = chunks;
  chunk_ = (n + chunks - 1) / chunks;
  pending_.store(num_threads_ - 1, std::memory_order_relaxed);
  {
    std::lock_guard<std::mutex> lock(mu_);
    generation_.fetch_add(1, std::memory_order_release);
  }
  start_cv_.notify_all();
  RunChunks(0);
  AwaitWorkers();
}

namespace {
std::unique_ptr<ThreadPool>& PoolSlot() {
  static std::unique_ptr<ThreadPool> pool;
  return pool;
}
}  // namespace

int DefaultThreadCount() {
  if (const char* env = std::getenv("AFTUNE_THREADS")) {
    char* end = nullptr;
    long v = std::strtol(env, &end, 10);
    if (end != env && *end == '\0' && v >= 1 && v <= 1024) return static_cast<int>(v);
  }
  unsigned hc = std::thread::hardware_concurrency();
  return hc == 0 ? 1 : static_cast<int>(hc);
}

ThreadPool& DefaultPool() {
  auto& slot = PoolSlot();
  if (!slot) slot = std::make_unique<ThreadPool>(DefaultThreadCount());
  return *slot;
}

void SetDefaultThreads(int n) { PoolSlot() = std::make_unique<ThreadPool>(n); }

}  // namespace aftune
