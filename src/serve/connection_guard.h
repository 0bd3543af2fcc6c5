// Who may hold a connection to the HTTP server, and for how long: one
// thread per open connection (cpp-httplib's own pool has a fixed number of
// workers, and a connection holds its worker while it dribbles its headers,
// so a few dozen slow clients stopped all service), within these limits:
//  - at most max_per_ip connections open from one client address; the next
//    one is refused (429, RefuseConnection) and closed;
//  - at most max_connections open in all. At the cap, the connection that
//    has waited longest without a complete request head (an idle keep-alive
//    connection, or one still sending its head) is closed to make room, so
//    connections slow to speak cannot keep out clients that send their
//    requests at once. Only when every connection is busy with a request do
//    new ones wait, in the listen backlog;
//  - the timeouts of ConnectionLimits, which guarded_server.h enforces on
//    each connection.
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <list>
#include <map>
#include <mutex>
#include <string>

namespace aftune {

struct ConnectionLimits {
  size_t max_connections = 1024;  // open at once, a thread each
  size_t max_per_ip = 64;         // open at once from one client address
  // Longest wait for the first byte of a request (on a new connection, or an
  // idle keep-alive one).
  std::chrono::milliseconds idle_timeout{5000};
  // The whole request head (request line and headers), from its first byte.
  std::chrono::milliseconds header_timeout{10000};
  // The whole body, from the end of the head.
  std::chrono::milliseconds body_timeout{30000};
  // Longest wait for the client to take the next bytes of a reply.
  std::chrono::milliseconds write_timeout{10000};
};

class ConnectionGuard {
  struct Entry;
  using Entries = std::list<Entry>;

 public:
  // What a connection is doing; only kBusy ones are never closed for room.
  enum class Phase { kIdle, kHead, kBusy };

  // An admitted connection's place; leaves the guard when destroyed.
  class Admission {
   public:
    Admission(Admission&& other) noexcept;
    Admission& operator=(Admission&&) = delete;
    ~Admission();
    // 0: admitted; else the HTTP status the connection was refused with
    // (429: its address holds max_per_ip connections; 503: stopping).
    int refusal() const { return refusal_; }
    // Moves the connection to `phase`; false: stop serving it (the server
    // is stopping, or the connection was closed to make room).
    bool Enter(Phase phase);

   private:
    friend class ConnectionGuard;
    Admission(ConnectionGuard* guard, Entries::iterator entry, int refusal)
        : guard_(guard), entry_(entry), refusal_(refusal) {}
    ConnectionGuard* guard_;  // nullptr: refused, or moved from
    Entries::iterator entry_;
    int refusal_;
  };

  explicit ConnectionGuard(const ConnectionLimits& limits) : limits_(limits) {}
  ~ConnectionGuard() { Shutdown(); }

  // Runs `serve` (one connection) on a thread of its own, first making room
  // (see above) when max_connections are open; blocks while none can be made.
  void Start(std::function<void()> serve);
  // Closes every connection that is not busy, refuses new ones, and waits
  // until every connection's thread has finished.
  void Shutdown();

  // Admits the connection on socket `sock`; call on its own thread, and
  // destroy the Admission before closing the socket.
  Admission Admit(int sock);

  // A predicate telling whether the client of the request from `ip`:`port`
  // has gone (closed or reset its connection), for a handler to poll while
  // it works. REQUIRES: called while that request is being handled.
  std::function<bool()> ClientGone(const std::string& ip, int port);

 private:
  struct Entry {
    int sock;
    std::string ip;
    int port;
    Phase phase;
    std::chrono::steady_clock::time_point since;
    bool closed_for_room;
  };
  void Leave(Entries::iterator e);
  bool Enter(Entries::iterator e, Phase phase);
  // Shuts down the longest-waiting connection that is not busy; false: none.
  bool CloseOneForRoom();

  const ConnectionLimits limits_;
  std::mutex mu_;
  std::condition_variable changed_;
  size_t threads_ = 0;  // connection threads running
  size_t closing_ = 0;  // admitted connections closed for room, not yet gone
  Entries entries_;     // admitted connections
  std::map<std::string, size_t> per_ip_;
  bool stopping_ = false;
};

// The peer address of a connected socket, as text ("" if it has none).
void PeerAddress(int sock, std::string& ip, int& port);

// Writes a complete HTTP reply refusing a connection before its request is
// read (a JSON error, Connection: close), then reads and discards what the
// client sent for up to `linger` so that the reply is not lost to a reset.
// Does not close `sock`.
void RefuseConnection(int sock, int status, std::chrono::milliseconds linger);

}  // namespace aftune
