#include "provide/provide_server.h"

#include <httplib.h>

namespace aftune {

namespace {

constexpr std::string_view kBearer = "Bearer ";

std::string BearerOf(const httplib::Request& req) {
  const std::string auth = req.get_header_value("Authorization");
  return auth.starts_with(kBearer) ? auth.substr(kBearer.size()) : std::string();
}

void Send(httplib::Response& res, ProvideAnswer a) {
  res.status = a.status;
  res.set_content(std::move(a.body), a.content_type.c_str());
}

// A path number: at most 12 digits (the route's regex), so it fits.
int64_t PathNumber(const std::string& digits) { return std::stoll(digits); }

}  // namespace

ProvideServer::ProvideServer(ProvideService& service, ProvideServerOptions options)
    : server_(std::make_unique<httplib::Server>()) {
  httplib::Server& s = *server_;
  const size_t threads = static_cast<size_t>(options.threads);
  s.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  s.set_payload_max_length(kMaxAuditRequestBytes);
  s.set_read_timeout(options.read_timeout);
  s.set_write_timeout(options.write_timeout);
  s.set_tcp_nodelay(true);  // an answer's header and body go out at once, not after a delayed ACK
  const std::string run = "/v1/audit/runs/([0-9a-f]{64})";
  const std::string number = "([0-9]{1,12})";
  ProvideService* svc = &service;
  s.Get(AuditCommitmentsPath(), [svc](const httplib::Request& req, httplib::Response& res) {
    Send(res, svc->Commitments(BearerOf(req)));
  });
  s.Post(run + "/lines", [svc](const httplib::Request& req, httplib::Response& res) {
    Send(res, svc->Lines(BearerOf(req), req.matches[1].str(), req.body));
  });
  s.Get(run + "/state/" + number + "/" + number, [svc](const httplib::Request& req, httplib::Response& res) {
    Send(res, svc->State(BearerOf(req), req.matches[1].str(), PathNumber(req.matches[2]), PathNumber(req.matches[3])));
  });
  s.Get(run + "/boundary/" + number + "/" + number + "/(activation|gradient)",
        [svc](const httplib::Request& req, httplib::Response& res) {
          const BoundaryKind kind = req.matches[4] == "activation" ? BoundaryKind::kActivation : BoundaryKind::kGradient;
          Send(res, svc->Boundary(BearerOf(req), req.matches[1].str(), PathNumber(req.matches[2]),
                                  PathNumber(req.matches[3]), kind));
        });
  s.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (res.status == 413) return Send(res, ErrorAnswer(413, "request body above " +
                                                                 std::to_string(kMaxAuditRequestBytes) + " bytes"));
    if (res.body.empty()) Send(res, ErrorAnswer(res.status == 200 ? 404 : res.status, "no such path: " + req.path));
  });
  s.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "internal error";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    Send(res, ErrorAnswer(500, what));
  });
}

ProvideServer::~ProvideServer() = default;

Result<int> ProvideServer::Bind(const std::string& host, int port) {
  if (port == 0) {
    const int bound = server_->bind_to_any_port(host);
    if (bound < 0) return Status::IOError("cannot bind " + host + " to a free port");
    return bound;
  }
  if (!server_->bind_to_port(host, port))
    return Status::IOError("cannot bind " + host + ":" + std::to_string(port) + " (in use, or not an address here)");
  return port;
}

Status ProvideServer::Run() {
  if (!server_->listen_after_bind()) return Status::IOError("the audit service stopped listening with an error");
  return Status::Ok();
}

void ProvideServer::Stop() { server_->stop(); }

}  // namespace aftune
