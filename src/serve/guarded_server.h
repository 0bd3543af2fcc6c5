// cpp-httplib's Server with each connection served under ConnectionGuard's
// limits (connection_guard.h). httplib 0.11 bounds only each read (its read
// timeout), so a client sending one byte of its headers every few seconds
// held its connection forever. Here each connection runs this loop:
//
//   admitted? (per-address cap; else a 429 and close)
//   repeat, up to the keep-alive count:
//     idle: the request's first byte within idle_timeout, else close
//     head: request line and headers complete within header_timeout of it
//           (else httplib's 400 and close)
//     busy: the body within body_timeout of the head; then the handler and
//           the reply, each write within write_timeout
//
// httplib's own request parsing, routing and handlers run unchanged
// (Server::process_request); only the connection loop around them and the
// socket reads and writes are replaced.
#pragma once

#include <httplib.h>

#include <functional>
#include <string>

#include "serve/connection_guard.h"

namespace aftune {

class GuardedServer final : public httplib::Server {
 public:
  explicit GuardedServer(const ConnectionLimits& limits);

  // See ConnectionGuard::ClientGone: for a handler of `req` to poll.
  std::function<bool()> ClientGone(const httplib::Request& req) {
    return guard_.ClientGone(req.remote_addr, req.remote_port);
  }

 private:
  // Overrides httplib's (private virtual) per-connection entry point, which
  // the accept loop calls on the thread ConnectionGuard::Start made.
  bool process_and_close_socket(socket_t sock) override;
  bool Serve(socket_t sock);

  const ConnectionLimits limits_;
  ConnectionGuard guard_;
};

}  // namespace aftune
