// The task queue behind HttpServer: one thread per open connection, at most
// `max_connections` at once. cpp-httplib's own pool has a fixed number of
// workers, and a connection holds its worker while it dribbles its headers,
// so a few dozen slow clients (slowloris) stopped all service. Here a slow
// connection holds only its own, mostly sleeping, thread until the read
// timeout ends it, and ordinary clients are served beside it. Past the cap
// the accept loop waits for a connection to end (new clients wait in the
// listen backlog).
#pragma once

#include <httplib.h>

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>

namespace aftune {

class ConnectionThreads final : public httplib::TaskQueue {
 public:
  explicit ConnectionThreads(size_t max_connections) : max_(max_connections) {}
  ~ConnectionThreads() override { shutdown(); }

  void enqueue(std::function<void()> fn) override;
  // Waits until every connection's thread has finished.
  void shutdown() override;

 private:
  const size_t max_;
  std::mutex mu_;
  std::condition_variable changed_;
  size_t active_ = 0;
};

}  // namespace aftune
