// A fixed pool of worker threads that runs a loop's iterations in parallel.
//
// Determinism contract: ParallelFor splits an index range into contiguous
// chunks and gives each chunk to one thread. Callers split over *outputs*
// (rows, tiles, heads), never over a reduction, so no result depends on the
// number of threads or on their schedule.
//
// Hand-off: a small kernel lasts microseconds, about what waking a sleeping
// thread through a condition variable costs. So a worker that finished a job
// spins briefly for the next one, and the caller spins briefly for the
// workers to finish, before either sleeps; a job started within the spin
// window costs no system call. Spinning changes only who waits how, never
// which chunk a thread computes.
#pragma once

#include <atomic>
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
  // The generation after `seen`, or stop: spins, then sleeps on start_cv_.
  uint64_t AwaitJob(uint64_t seen);
  // Returns once every worker finished the current job: spins, then sleeps.
  void AwaitWorkers();

  const int num_threads_;
  std::vector<std::thread> workers_;
  // mu_ guards the sleeping: generation_ and stop_ change under it (so a
  // sleeper's predicate cannot miss them), pending_ reaches 0 before the
  // last worker takes it to notify.
  std::mutex mu_;
  std::condition_variable start_cv_, done_cv_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
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
