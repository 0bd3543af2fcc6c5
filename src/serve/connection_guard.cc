#include "serve/connection_guard.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <thread>

#include "serve/api_request.h"

namespace aftune {

using Clock = std::chrono::steady_clock;

void ConnectionGuard::Start(std::function<void()> serve) {
  {
    std::unique_lock<std::mutex> lk(mu_);
    while (threads_ >= limits_.max_connections) {
      if (threads_ - closing_ >= limits_.max_connections) CloseOneForRoom();
      changed_.wait(lk);
    }
    ++threads_;
  }
  std::thread([this, serve = std::move(serve)] {
    serve();
    std::lock_guard<std::mutex> lk(mu_);
    --threads_;
    changed_.notify_all();  // under the lock: Shutdown may destroy *this once threads_ is 0
  }).detach();
}

void ConnectionGuard::Shutdown() {
  std::unique_lock<std::mutex> lk(mu_);
  stopping_ = true;
  for (const Entry& e : entries_)
    if (e.phase != Phase::kBusy) ::shutdown(e.sock, SHUT_RDWR);  // wakes its thread, which then ends
  changed_.wait(lk, [&] { return threads_ == 0; });
}

ConnectionGuard::Admission ConnectionGuard::Admit(int sock) {
  std::string ip;
  int port = 0;
  PeerAddress(sock, ip, port);
  std::lock_guard<std::mutex> lk(mu_);
  if (stopping_) return Admission(nullptr, entries_.end(), 503);
  size_t& from_ip = per_ip_[ip];
  if (from_ip >= limits_.max_per_ip) return Admission(nullptr, entries_.end(), 429);
  ++from_ip;
  entries_.push_back(Entry{sock, ip, port, Phase::kIdle, Clock::now(), false});
  changed_.notify_all();
  return Admission(this, std::prev(entries_.end()), 0);
}

void ConnectionGuard::Leave(Entries::iterator e) {
  std::lock_guard<std::mutex> lk(mu_);
  auto ip = per_ip_.find(e->ip);
  if (--ip->second == 0) per_ip_.erase(ip);
  if (e->closed_for_room) --closing_;
  entries_.erase(e);
  changed_.notify_all();
}

bool ConnectionGuard::Enter(Entries::iterator e, Phase phase) {
  std::lock_guard<std::mutex> lk(mu_);
  e->phase = phase;
  e->since = Clock::now();
  changed_.notify_all();
  return !stopping_ && !e->closed_for_room;
}

bool ConnectionGuard::CloseOneForRoom() {
  Entry* oldest = nullptr;
  for (Entry& e : entries_)
    if (e.phase != Phase::kBusy && !e.closed_for_room && (!oldest || e.since < oldest->since)) oldest = &e;
  if (!oldest) return false;
  oldest->closed_for_room = true;
  ++closing_;
  ::shutdown(oldest->sock, SHUT_RDWR);
  return true;
}

std::function<bool()> ConnectionGuard::ClientGone(const std::string& ip, int port) {
  std::lock_guard<std::mutex> lk(mu_);
  for (const Entry& e : entries_) {
    if (e.ip != ip || e.port != port) continue;
    return [sock = e.sock] {
      pollfd p{sock, POLLIN | POLLRDHUP, 0};
      return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
    };
  }
  return [] { return false; };
}

ConnectionGuard::Admission::Admission(Admission&& other) noexcept
    : guard_(other.guard_), entry_(other.entry_), refusal_(other.refusal_) {
  other.guard_ = nullptr;
}

ConnectionGuard::Admission::~Admission() {
  if (guard_) guard_->Leave(entry_);
}

bool ConnectionGuard::Admission::Enter(Phase phase) { return guard_->Enter(entry_, phase); }

void PeerAddress(int sock, std::string& ip, int& port) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  ip.clear();
  port = 0;
  if (::getpeername(sock, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return;
  char text[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&addr);
    ::inet_ntop(AF_INET, &a->sin_addr, text, sizeof text);
    port = ntohs(a->sin_port);
  } else if (addr.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&addr);
    ::inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof text);
    port = ntohs(a->sin6_port);
  }
  ip = text;
}

void RefuseConnection(int sock, int status, std::chrono::milliseconds linger) {
  ApiError e;
  e.http_status = status;
  if (status == 429) {
    e.type = "rate_limit_error";
    e.message = "too many connections from this address; close some and retry";
  } else {
    e.type = "server_error";
    e.message = "the server is shutting down";
  }
  const std::string body = e.ToJson();
  const std::string reply = "HTTP/1.1 " + std::to_string(status) +
                            (status == 429 ? " Too Many Requests" : " Service Unavailable") +
                            "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
                            "\r\nConnection: close\r\n\r\n" + body;
  const Clock::time_point end = Clock::now() + linger;
  pollfd out{sock, POLLOUT, 0};
  if (::poll(&out, 1, static_cast<int>(linger.count())) == 1) ::send(sock, reply.data(), reply.size(), MSG_NOSIGNAL);
  ::shutdown(sock, SHUT_WR);
  char sink[4096];
  for (size_t drained = 0; drained < (64u << 10);) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now()).count();
    pollfd in{sock, POLLIN, 0};
    if (left <= 0 || ::poll(&in, 1, static_cast<int>(left)) != 1) break;
    const ssize_t n = ::recv(sock, sink, sizeof sink, 0);
    if (n <= 0) break;
    drained += static_cast<size_t>(n);
  }
}

}  // namespace aftune
