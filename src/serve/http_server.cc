#include "serve/http_server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <exception>

#include <nlohmann/json.hpp>

#include "serve/log_api.h"

namespace aftune {

namespace {

void Send(httplib::Response& res, const HttpReply& reply) {
  res.status = reply.status;
  if (!reply.stream) {
    res.set_content(reply.body, "application/json");
    return;
  }
  // Server-sent events, one "data: …" event per chunk (chunked encoding).
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider("text/event-stream", [stream = reply.stream](size_t, httplib::DataSink& sink) {
    stream([&sink](const std::string& data) {
      const std::string event = "data: " + data + "\n\n";
      return sink.write(event.data(), event.size());
    });
    sink.done();
    return true;
  });
}

HttpReply JsonError(int status, const std::string& type, const std::string& message) {
  ApiError e;
  e.http_status = status;
  e.type = type;
  e.message = message;
  return {status, e.ToJson()};
}

std::string Param(const httplib::Request& req, const char* name) {
  return req.has_param(name) ? req.get_param_value(name) : "";
}

}  // namespace

HttpServer::HttpServer(InferenceService& service, ReceiptLog* log, int threads)
    : server_(std::make_unique<httplib::Server>()) {
  httplib::Server& s = *server_;
  s.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  s.set_payload_max_length(kMaxRequestBytes);
  s.set_tcp_nodelay(true);  // small JSON replies: no Nagle / delayed-ACK stalls
  s.set_keep_alive_max_count(1000);
  s.Post("/v1/completions", [&service](const httplib::Request& req, httplib::Response& res) {
    Send(res, service.Handle(ApiEndpoint::kCompletions, req.body));
  });
  s.Post("/v1/chat/completions", [&service](const httplib::Request& req, httplib::Response& res) {
    Send(res, service.Handle(ApiEndpoint::kChatCompletions, req.body));
  });
  s.Get("/v1/models", [&service](const httplib::Request&, httplib::Response& res) {
    Send(res, {200, service.ModelsJson()});
  });
  s.Get(R"(/v1/models/(.+))", [&service](const httplib::Request& req, httplib::Response& res) {
    Send(res, service.ModelReply(req.matches[1].str()));
  });
  s.Get("/health", [log](const httplib::Request&, httplib::Response& res) {
    nlohmann::json j = {{"status", "ok"}};
    if (log) j["log_size"] = log->size();
    Send(res, {200, j.dump()});
  });
  if (log) {
    s.Get("/v1/log/checkpoint", [log](const httplib::Request&, httplib::Response& res) {
      Send(res, CheckpointReply(*log));
    });
    s.Get(R"(/v1/log/receipts/([^/]*))", [log](const httplib::Request& req, httplib::Response& res) {
      Send(res, ReceiptReply(*log, req.matches[1].str()));
    });
    s.Get("/v1/log/proof/inclusion", [log](const httplib::Request& req, httplib::Response& res) {
      Send(res, InclusionProofReply(*log, Param(req, "index"), Param(req, "size")));
    });
    s.Get("/v1/log/proof/consistency", [log](const httplib::Request& req, httplib::Response& res) {
      Send(res, ConsistencyProofReply(*log, Param(req, "old"), Param(req, "new")));
    });
  }
  // Unmatched paths and httplib's own errors (413, 400) get a JSON body.
  s.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    const bool unknown = res.status == 404;
    Send(res, JsonError(res.status, "invalid_request_error",
                        unknown ? "no such endpoint: " + req.method + " " + req.path
                                : "the request was refused (HTTP " + std::to_string(res.status) + ")"));
  });
  s.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "internal error";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what += std::string(": ") + e.what();
    } catch (...) {
    }
    Send(res, JsonError(500, "server_error", what));
  });
}

HttpServer::~HttpServer() = default;

Result<int> HttpServer::Bind(const std::string& host, int port) {
  // cpp-httplib 0.11 listens with a backlog of 5: a burst of new clients
  // overflows it and some of their first requests fail. Calling listen(2)
  // again on the bound socket raises the backlog (Linux).
  int listening = -1;
  server_->set_socket_options([&listening](int sock) {
    httplib::default_socket_options(sock);
    listening = sock;
  });
  int bound = port;
  if (port == 0) {
    bound = server_->bind_to_any_port(host);
    if (bound < 0) return Status::IOError("cannot bind " + host + " to a free port");
  } else if (!server_->bind_to_port(host, port)) {
    return Status::IOError("cannot bind " + host + ":" + std::to_string(port) + " (in use, or not an address here)");
  }
  if (listening < 0 || ::listen(listening, SOMAXCONN) != 0)
    return Status::IOError("cannot raise the listen backlog of " + host + ":" + std::to_string(bound));
  return bound;
}

Status HttpServer::Run() {
  if (!server_->listen_after_bind()) return Status::IOError("the server stopped listening with an error");
  return Status::Ok();
}

void HttpServer::Stop() { server_->stop(); }

}  // namespace aftune
