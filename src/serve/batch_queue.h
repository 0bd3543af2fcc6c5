// Shared-batch decoding for concurrent requests: callers on many threads
// hand in one GenerationRequest each; one worker thread runs every request
// waiting at that moment (up to max_batch) through one Generator::Generate
// call, then the next group. Clients whose answers left together come back
// a little apart (each reply's receipt is logged first), so before starting
// a batch smaller than the largest of the last kRecentBatches the worker
// waits up to kGatherWindow for the rest to arrive (which also merges
// batches that have split); a lone client never waits. Because
// the decoder is batch-invariant, a request's tokens do not depend on the
// requests it shares a batch with (batch_queue_test.cc checks this against
// generating alone).
//
// Thread safety: Generate may be called from any number of threads.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <span>
#include <thread>

#include "infer/generator.h"

namespace aftune {

class BatchQueue {
 public:
  static constexpr std::chrono::microseconds kGatherWindow{10000};
  static constexpr size_t kRecentBatches = 4;

  // `generator` must outlive the queue. REQUIRES: max_batch >= 1.
  BatchQueue(const Generator& generator, size_t max_batch);
  ~BatchQueue();  // finishes the queued requests, then stops the worker
  BatchQueue(const BatchQueue&) = delete;
  BatchQueue& operator=(const BatchQueue&) = delete;

  // Receives the tokens sampled since its last call, on the caller's thread
  // (never the worker's, so a slow client cannot stall the batch). false:
  // cancel the request (the client is gone); it leaves the batch at the next
  // step with FinishReason::kCancelled.
  using TokenSink = std::function<bool(std::span<const int32_t> tokens)>;

  // Blocks until the request has been generated; with `on_tokens`, hands
  // the tokens over as they are sampled, all of them before returning.
  // REQUIRES: generator.Validate(request).ok().
  GenerationResult Generate(const GenerationRequest& request, const TokenSink& on_tokens = {});

 private:
  struct Job {
    const GenerationRequest* request;
    bool streamed = false;
    std::vector<int32_t> sampled;  // streamed: the tokens so far (under mu_)
    bool cancelled = false;        // under mu_
    GenerationResult result;
    bool done = false;
  };
  void WorkLoop();

  const Generator& generator_;
  const size_t max_batch_;
  std::mutex mu_;
  std::condition_variable queued_, finished_;
  std::deque<Job*> queue_;
  std::deque<size_t> recent_;  // sizes of the last kRecentBatches batches
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace aftune
