// The HTTP front of aftune's inference server (cpp-httplib): the OpenAI
// endpoints of an InferenceService, the receipt log's endpoints (log_api.h)
// and a health check. Paths and JSON shapes: docs/formats.md, "Inference
// HTTP API".
//
//   POST /v1/completions, /v1/chat/completions   InferenceService::Handle
//   GET  /v1/models                              InferenceService::ModelsJson
//   GET  /health                                 {"status": "ok", "log_size": n}
//   GET  /v1/log/...                             log_api.h
//
// Any other path is a JSON 404; an exception escaping a handler is a JSON
// 500. Request bodies above kMaxRequestBytes are refused (413) while they
// are read, chunked or not: no more than the limit is ever buffered.
//
// Before any body is read, every request is checked (OpenAI-shaped errors):
//  - Host, and Origin when sent, must name the bound address (for a
//    loopback bind also localhost / 127.0.0.1 / [::1] with the port), so a
//    web page cannot reach the server through DNS rebinding (403). A
//    wildcard bind (0.0.0.0, ::) checks neither: put it behind API keys.
//  - POSTs must be Content-Type application/json (415): a page's form or
//    text/plain POST is refused.
//  - With API keys, the generation endpoints (POST /v1/completions,
//    /v1/chat/completions) need `Authorization: Bearer <secret>` (401
//    invalid_api_key). /health, /v1/models and the log stay public: the log
//    is public by design, so that anyone can check it.
// Connections: a thread each, under the caps and timeouts of
// HttpServerOptions::limits (connection_guard.h, guarded_server.h).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "serve/api_keys.h"
#include "serve/connection_guard.h"
#include "serve/inference_service.h"
#include "serve/receipt_log.h"

namespace aftune {

class GuardedServer;

// localhost, ::1 or 127.x.y.z: an address only this machine reaches.
bool IsLoopback(const std::string& host);

struct HttpServerOptions {
  std::vector<ApiKey> api_keys;  // empty: no authentication
  ConnectionLimits limits;
};

class HttpServer {
 public:
  // `service` and `log` outlive the server. log == nullptr: no log
  // endpoints (a service without receipts, for serve_bench).
  HttpServer(InferenceService& service, ReceiptLog* log, HttpServerOptions options = {});
  ~HttpServer();

  // Binds host:port; port 0 picks a free port. Returns the bound port.
  Result<int> Bind(const std::string& host, int port);
  // Serves until Stop() is called. REQUIRES: Bind succeeded.
  Status Run();
  // Thread-safe; Run returns soon after.
  void Stop();

 private:
  std::unique_ptr<GuardedServer> server_;
  const HttpServerOptions options_;
  std::vector<std::string> allowed_hosts_;  // set by Bind; empty: any (wildcard bind)
};

}  // namespace aftune
