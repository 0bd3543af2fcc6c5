// The HTTP front of the provider's audit service (cpp-httplib): routes the
// audit API's paths (protocol/audit_api.h) to a ProvideService. Any other
// path is a JSON 404; an exception escaping a handler a JSON 500.
//
// Bounds: request bodies above kMaxAuditRequestBytes are refused (413);
// at most `threads` connections are served at once (the others wait in
// the listen queue); read_timeout between the bytes of a request, and
// write_timeout for a client that stops reading an answer.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "base/status.h"
#include "provide/provide_service.h"

namespace httplib {
class Server;
}

namespace aftune {

struct ProvideServerOptions {
  int threads = 8;
  std::chrono::seconds read_timeout{10};
  std::chrono::seconds write_timeout{60};
};

class ProvideServer {
 public:
  // `service` outlives the server.
  ProvideServer(ProvideService& service, ProvideServerOptions options = {});
  ~ProvideServer();

  // Binds host:port; port 0 picks a free port. Returns the bound port.
  Result<int> Bind(const std::string& host, int port);
  // Serves until Stop(). REQUIRES: Bind succeeded.
  Status Run();
  // Thread-safe; Run returns soon after.
  void Stop();

 private:
  std::unique_ptr<httplib::Server> server_;
};

}  // namespace aftune
