// Test-only: an HttpServer over a ServedFixture, running on a free loopback
// port in process, and raw loopback connections to it. Included by
// src/serve/*_test.cc only.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <thread>

#include "serve/http_server.h"
#include "serve/serve_test_util.h"

namespace aftune::testing {

class RunningHttpServer {
 public:
  RunningHttpServer(ServedFixture& f, HttpServerOptions options)
      : server_(std::make_unique<HttpServer>(*f.service, f.log.get(), std::move(options))) {
    Result<int> port = server_->Bind("127.0.0.1", 0);
    EXPECT_TRUE(port.ok()) << port.status().ToString();
    port_ = port.ok() ? *port : 0;
    thread_ = std::thread([this] { EXPECT_TRUE(server_->Run().ok()); });
  }
  // REQUIRES: the clients' keep-alive connections are closed (Stop waits
  // for connections busy with a request).
  ~RunningHttpServer() {
    server_->Stop();
    thread_.join();
  }
  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  std::unique_ptr<HttpServer> server_;
  int port_ = 0;
  std::thread thread_;
};

// A TCP connection to 127.0.0.1:`port` from the address `source`: any
// 127.x.y.z, each a different client address to the server. Sends and
// receives time out after 5 s. -1 if it cannot connect.
inline int ConnectFrom(int port, const char* source = "127.0.0.1") {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in from{};
  from.sin_family = AF_INET;
  ::inet_pton(AF_INET, source, &from.sin_addr);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(port));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0 ||
      ::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

inline bool SendAll(int fd, const std::string& bytes) {
  return ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size());
}

}  // namespace aftune::testing
