#include "serve/guarded_server.h"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>

namespace aftune {

namespace {

using Clock = std::chrono::steady_clock;

// Waits until `sock` has one of `events` or `deadline` passes; false: it passed.
bool WaitUntil(int sock, short events, Clock::time_point deadline) {
  for (;;) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{sock, events, 0};
    const int n = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left, 1 << 30)));
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) return true;  // let the read or write report the error
  }
}

// httplib's Stream over a connection, reads bounded by a deadline (the
// head's or the body's) instead of a timeout per read. Buffers what it
// reads: httplib reads the request head one byte at a time.
class DeadlineStream final : public httplib::Stream {
 public:
  DeadlineStream(int sock, std::chrono::milliseconds write_timeout) : sock_(sock), write_timeout_(write_timeout) {}

  void SetDeadline(Clock::time_point deadline) { deadline_ = deadline; }
  // Whether a read found its deadline passed: the connection is to close.
  bool expired() const { return expired_; }
  // Whether bytes arrived (or the peer closed) before `deadline`.
  bool WaitForBytes(Clock::time_point deadline) const {
    return begin_ < end_ || WaitUntil(sock_, POLLIN, deadline);
  }

  bool is_readable() const override { return WaitForBytes(deadline_); }
  bool is_writable() const override { return WaitUntil(sock_, POLLOUT, Clock::now() + write_timeout_); }

  ssize_t read(char* ptr, size_t size) override {
    if (begin_ == end_) {
      if (!WaitUntil(sock_, POLLIN, deadline_)) {
        expired_ = true;
        return -1;
      }
      ssize_t n;
      do n = ::recv(sock_, buffer_.data(), buffer_.size(), 0);
      while (n < 0 && errno == EINTR);
      if (n <= 0) return n;
      begin_ = 0;
      end_ = static_cast<size_t>(n);
    }
    const size_t n = std::min(size, end_ - begin_);
    std::memcpy(ptr, buffer_.data() + begin_, n);
    begin_ += n;
    return static_cast<ssize_t>(n);
  }

  ssize_t write(const char* ptr, size_t size) override {
    if (!is_writable()) return -1;
    ssize_t n;
    do n = ::send(sock_, ptr, size, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    return n;
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override { PeerAddress(sock_, ip, port); }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    ip.clear();
    port = 0;  // unused by the server
  }
  socket_t socket() const override { return sock_; }

 private:
  const int sock_;
  const std::chrono::milliseconds write_timeout_;
  Clock::time_point deadline_ = Clock::now();
  bool expired_ = false;
  std::array<char, 4096> buffer_{};
  size_t begin_ = 0, end_ = 0;
};

// What httplib's task queue does, done by the guard.
class GuardQueue final : public httplib::TaskQueue {
 public:
  explicit GuardQueue(ConnectionGuard& guard) : guard_(guard) {}
  void enqueue(std::function<void()> fn) override { guard_.Start(std::move(fn)); }
  void shutdown() override { guard_.Shutdown(); }

 private:
  ConnectionGuard& guard_;
};

constexpr std::chrono::milliseconds kRefusalLinger{500};

// Set when the reply to the request being handled says "Connection: close"
// (e.g. a body refused unread): the connection's loop then ends rather than
// reading the rest of that body as a next request. One connection per
// thread, so per thread is per connection.
thread_local bool reply_closes = false;

}  // namespace

GuardedServer::GuardedServer(const ConnectionLimits& limits) : limits_(limits), guard_(limits) {
  new_task_queue = [this] { return new GuardQueue(guard_); };
  set_write_timeout(std::chrono::duration_cast<std::chrono::microseconds>(limits.write_timeout));
  set_post_routing_handler([](const httplib::Request&, httplib::Response& res) {
    reply_closes = res.get_header_value("Connection") == "close";
  });
}

bool GuardedServer::process_and_close_socket(socket_t sock) {
  const bool served = Serve(sock);
  ::shutdown(sock, SHUT_RDWR);
  ::close(sock);
  return served;
}

bool GuardedServer::Serve(socket_t sock) {
  using Phase = ConnectionGuard::Phase;
  ConnectionGuard::Admission admission = guard_.Admit(sock);
  if (admission.refusal() != 0) {
    RefuseConnection(sock, admission.refusal(), kRefusalLinger);
    return false;
  }
  DeadlineStream stream(sock, limits_.write_timeout);
  bool served = true;
  for (size_t n = 1; n <= keep_alive_max_count_; ++n) {
    if (!admission.Enter(Phase::kIdle) || !stream.WaitForBytes(Clock::now() + limits_.idle_timeout)) break;
    if (!admission.Enter(Phase::kHead)) break;
    stream.SetDeadline(Clock::now() + limits_.header_timeout);
    bool client_closes = false;
    reply_closes = false;
    served = process_request(stream, n == keep_alive_max_count_, client_closes, [&](httplib::Request&) {
      admission.Enter(Phase::kBusy);
      stream.SetDeadline(Clock::now() + limits_.body_timeout);
    });
    if (!served || client_closes || reply_closes || stream.expired()) break;
  }
  return served;
}

}  // namespace aftune
