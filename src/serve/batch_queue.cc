#include "serve/batch_queue.h"

#include <algorithm>
#include <vector>

namespace aftune {

BatchQueue::BatchQueue(const Generator& generator, size_t max_batch)
    : generator_(generator), max_batch_(max_batch) {
  AFTUNE_CHECK(max_batch >= 1);
  worker_ = std::thread([this] { WorkLoop(); });
}

BatchQueue::~BatchQueue() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stopping_ = true;
  }
  queued_.notify_all();
  worker_.join();
}

GenerationResult BatchQueue::Generate(const GenerationRequest& request, const TokenSink& on_tokens) {
  Job job;
  job.request = &request;
  job.streamed = static_cast<bool>(on_tokens);
  std::unique_lock<std::mutex> lk(mu_);
  queue_.push_back(&job);
  queued_.notify_all();
  size_t delivered = 0;
  for (;;) {
    finished_.wait(lk, [&] { return job.done || job.sampled.size() > delivered; });
    if (job.sampled.size() > delivered) {
      std::vector<int32_t> fresh(job.sampled.begin() + static_cast<std::ptrdiff_t>(delivered), job.sampled.end());
      delivered = job.sampled.size();
      lk.unlock();
      const bool go_on = on_tokens(fresh);
      lk.lock();
      if (!go_on) job.cancelled = true;
      continue;
    }
    if (job.done) break;
  }
  return std::move(job.result);
}

void BatchQueue::WorkLoop() {
  std::unique_lock<std::mutex> lk(mu_);
  for (;;) {
    queued_.wait(lk, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping
    const size_t recent_max = recent_.empty() ? 1 : *std::max_element(recent_.begin(), recent_.end());
    const size_t expect = std::min(recent_max, max_batch_);
    queued_.wait_for(lk, kGatherWindow, [&] { return stopping_ || queue_.size() >= expect; });
    std::vector<Job*> batch;
    while (!queue_.empty() && batch.size() < max_batch_) {
      batch.push_back(queue_.front());
      queue_.pop_front();
    }
    recent_.push_back(batch.size());
    if (recent_.size() > kRecentBatches) recent_.pop_front();
    lk.unlock();
    std::vector<GenerationRequest> requests;
    requests.reserve(batch.size());
    for (Job* job : batch) requests.push_back(*job->request);
    bool any_streamed = false;
    for (Job* job : batch) any_streamed |= job->streamed;
    Generator::TokenCallback on_token;
    if (any_streamed) {
      on_token = [&](size_t i, int32_t token) {
        if (!batch[i]->streamed) return true;
        std::lock_guard<std::mutex> guard(mu_);
        batch[i]->sampled.push_back(token);
        finished_.notify_all();
        return !batch[i]->cancelled;
      };
    }
    std::vector<GenerationResult> results = generator_.Generate(requests, false, on_token);
    lk.lock();
    for (size_t i = 0; i < batch.size(); ++i) {
      batch[i]->result = std::move(results[i]);
      batch[i]->done = true;
    }
    finished_.notify_all();
  }
}

}  // namespace aftune
