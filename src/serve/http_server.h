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
// 500. Request bodies above kMaxRequestBytes are refused (413).
#pragma once

#include <memory>
#include <string>

#include "base/status.h"
#include "serve/inference_service.h"
#include "serve/receipt_log.h"

namespace httplib {
class Server;
}

namespace aftune {

class HttpServer {
 public:
  // `service` and `log` outlive the server. log == nullptr: no log
  // endpoints (a service without receipts, for serve_bench). `threads`:
  // connections served at once.
  HttpServer(InferenceService& service, ReceiptLog* log, int threads);
  ~HttpServer();

  // Binds host:port; port 0 picks a free port. Returns the bound port.
  Result<int> Bind(const std::string& host, int port);
  // Serves until Stop() is called. REQUIRES: Bind succeeded.
  Status Run();
  // Thread-safe; Run returns soon after.
  void Stop();

 private:
  std::unique_ptr<httplib::Server> server_;
};

}  // namespace aftune
