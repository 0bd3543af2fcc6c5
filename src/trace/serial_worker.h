// One thread that runs the jobs handed to it, one at a time, in order: the
// recorder hashes boundary tensors on one while the step goes on
// (trace/step_digester.h).
//
// Thread safety: Submit may be called from any thread.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>

namespace aftune {

class SerialWorker {
 public:
  SerialWorker();
  // Runs the jobs still queued, then stops.
  ~SerialWorker();
  SerialWorker(const SerialWorker&) = delete;
  SerialWorker& operator=(const SerialWorker&) = delete;

  // Queues `job`; its result (or exception) comes through the future.
  template <typename F>
  auto Submit(F job) -> std::future<std::invoke_result_t<F&>> {
    using R = std::invoke_result_t<F&>;
    auto task = std::make_shared<std::packaged_task<R()>>(std::move(job));
    std::future<R> result = task->get_future();
    Enqueue([task] { (*task)(); });
    return result;
  }

 private:
  void Enqueue(std::function<void()> job);
  void Run();

  std::mutex mu_;
  std::condition_variable work_;
  std::deque<std::function<void()>> queue_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace aftune
