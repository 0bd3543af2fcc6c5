#include "serve/http_server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <algorithm>
#include <exception>
#include <optional>

#include <nlohmann/json.hpp>

#include "serve/guarded_server.h"
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

bool IsGeneration(const httplib::Request& req) {
  return req.method == "POST" && (req.path == "/v1/completions" || req.path == "/v1/chat/completions");
}

// The checks made on a request's headers, before its body is read (see
// http_server.h); nullopt: go on.
std::optional<HttpReply> Refusal(const httplib::Request& req, const std::vector<std::string>& hosts,
                                 const std::vector<ApiKey>& keys) {
  auto allowed = [&hosts](const std::string& host) {
    return hosts.empty() || std::find(hosts.begin(), hosts.end(), host) != hosts.end();
  };
  const std::string host = req.get_header_value("Host");
  if (!allowed(host))
    return JsonError(403, "permission_error", "the Host '" + host.substr(0, 100) + "' is not this server's address");
  if (req.has_header("Origin")) {
    const std::string origin = req.get_header_value("Origin");
    if (origin.rfind("http://", 0) != 0 || !allowed(origin.substr(7)))
      return JsonError(403, "permission_error", "the Origin '" + origin.substr(0, 100) + "' is not this server");
  }
  if (req.method == "POST") {
    const std::string type = req.get_header_value("Content-Type");
    if (type.substr(0, type.find(';')) != "application/json")
      return JsonError(415, "invalid_request_error",
                       "the Content-Type must be application/json, got '" + type.substr(0, 100) + "'");
  }
  if (!keys.empty() && IsGeneration(req)) {
    const std::string auth = req.get_header_value("Authorization");
    const bool bearer = auth.rfind("Bearer ", 0) == 0;
    if (!bearer || MatchApiKey(keys, std::string_view(auth).substr(7)).empty()) {
      HttpReply r = JsonError(401, "invalid_request_error",
                              bearer ? "Incorrect API key provided"
                                     : "You didn't provide an API key: send 'Authorization: Bearer <key>'");
      nlohmann::json j = nlohmann::json::parse(r.body);
      j["error"]["code"] = "invalid_api_key";
      r.body = j.dump();
      return r;
    }
  }
  return std::nullopt;
}

// Reads a request body of at most kMaxRequestBytes, chunked or not,
// stopping as soon as it is longer (httplib discards, unbuffered, a body
// whose Content-Length is over its payload limit); nullopt: refused, with
// the reply in *res.
std::optional<std::string> ReadBody(const httplib::ContentReader& reader, httplib::Response& res) {
  std::string body;
  bool too_long = false;
  const bool read = reader([&](const char* data, size_t n) {
    if (body.size() + n > kMaxRequestBytes) {
      too_long = true;
      return false;
    }
    body.append(data, n);
    return true;
  });
  if (read) return body;
  if (too_long || res.status == 413) {
    Send(res, JsonError(413, "invalid_request_error",
                        "the request body exceeds " + std::to_string(kMaxRequestBytes) + " bytes"));
  } else {
    Send(res, JsonError(400, "invalid_request_error", "the request body could not be read"));
  }
  res.set_header("Connection", "close");  // the rest of the body is never read
  return std::nullopt;
}

std::string Param(const httplib::Request& req, const char* name) {
  return req.has_param(name) ? req.get_param_value(name) : "";
}

}  // namespace

bool IsLoopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

HttpServer::HttpServer(InferenceService& service, ReceiptLog* log, HttpServerOptions options)
    : server_(std::make_unique<GuardedServer>(options.limits)), options_(std::move(options)) {
  httplib::Server& s = *server_;
  s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    std::optional<HttpReply> refused = Refusal(req, allowed_hosts_, options_.api_keys);
    if (!refused) return httplib::Server::HandlerResponse::Unhandled;
    Send(res, *refused);
    res.set_header("Connection", "close");
    return httplib::Server::HandlerResponse::Handled;
  });
  s.set_payload_max_length(kMaxRequestBytes);
  s.set_tcp_nodelay(true);  // small JSON replies: no Nagle / delayed-ACK stalls
  s.set_keep_alive_max_count(1000);
  // A generation endpoint: its body read within the limit, its answer
  // cancelled if the client leaves before it is ready.
  auto generation = [&service, guarded = server_.get()](ApiEndpoint endpoint) {
    return [&service, guarded, endpoint](const httplib::Request& req, httplib::Response& res,
                                         const httplib::ContentReader& reader) {
      std::optional<std::string> body = ReadBody(reader, res);
      if (!body) return;
      Send(res, service.Handle(endpoint, *body, guarded->ClientGone(req)));
    };
  };
  s.Post("/v1/completions", generation(ApiEndpoint::kCompletions));
  s.Post("/v1/chat/completions", generation(ApiEndpoint::kChatCompletions));
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
  allowed_hosts_.clear();
  if (port == 0) {
    bound = server_->bind_to_any_port(host);
    if (bound < 0) return Status::IOError("cannot bind " + host + " to a free port");
  } else if (!server_->bind_to_port(host, port)) {
    return Status::IOError("cannot bind " + host + ":" + std::to_string(port) + " (in use, or not an address here)");
  }
  if (host != "0.0.0.0" && host != "::" && !host.empty()) {
    const std::string p = ":" + std::to_string(bound);
    const bool v6 = host.find(':') != std::string::npos;
    allowed_hosts_.push_back((v6 ? "[" + host + "]" : host) + p);
    if (IsLoopback(host))
      for (const char* name : {"localhost", "127.0.0.1", "[::1]"}) allowed_hosts_.push_back(name + p);
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
