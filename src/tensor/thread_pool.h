// A fixed pool of worker threads that runs a loop's iterations in parallel.
//
// Determinism contract: ParallelFor splits an index range into contiguous
// chunks and gives each chunk to one thread. Callers split over *outputs*
// (rows, tiles, heads), never over a reduction, so no result depends on the
// number of threads or on their schedule.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace aftune {

class ThreadPool {
 public:
  // REQUIRES: num_threads >= 1. The calling thread is one of them.
  explicit ThreadPool(int num_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int num_threads() const { return num_threads_; }

  // Calls fn(begin, end) on disjoint chunks covering [0, n), at least
  // `min_chunk` indices each (except the last), and returns when all are done.
  // Not reentrant: fn must not call ParallelFor on the same pool.
  void ParallelFor(int64_t n, int64_t min_chunk,
                   const std::function<void(int64_t, int64_t)>& fn);

 private:
  void WorkerLoop(int worker);
  void RunChunks(int worker);

  const int num_threads_;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable start_cv_, done_cv_;
  uint64_t generation_ = 0;
  int pending_ = 0;
  bool stop_ = false;
  // The current job.
  const std::function<void(int64_t, int64_t)>* fn_ = nullptr;
  int64_t n_ = 0, chunk_ = 0, num_chunks_ = 0;
};

// The process-wide pool the kernels use. Its size is set once by
// SetDefaultThreads (the CLI's --threads) or else by DefaultThreadCount().
ThreadPool& DefaultPool();
// REQUIRES: n >= 1. Replaces the default pool.
void SetDefaultThreads(int n);
// AFTUNE_THREADS when set to a positive integer, else the number of cores.
int DefaultThreadCount();

}  // namespace aftune
