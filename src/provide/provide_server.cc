#include "provide/provide_server.h"

#include <httplib.h>

#include <algorithm>

namespace aftune {

namespace {

constexpr std::string_view kBearer = "Bearer ";

std::string BearerOf(const httplib::Request& req) {
  const std::string auth = req.get_header_value("Authorization");
  return auth.starts_with(kBearer) ? auth.substr(kBearer.size()) : std::string();
}

// How much of a streamed answer one write hands the socket.
constexpr size_t kStreamChunkBytes = size_t{1} << 20;

// Writes the answer's bytes from `offset` on, up to one chunk: `head` then
// the pieces. A piece's pages are released once its last byte is written.
bool WriteStreamed(const std::string& head, const std::vector<StreamPiece>& pieces, size_t offset,
                   httplib::DataSink& sink) {
  if (offset < head.size()) return sink.write(head.data() + offset, std::min(kStreamChunkBytes, head.size() - offset));
  offset -= head.size();
  for (const StreamPiece& p : pieces) {
    if (offset >= p.bytes.size()) {
      offset -= p.bytes.size();
      continue;
    }
    const size_t n = std::min(kStreamChunkBytes, p.bytes.size() - offset);
    if (!sink.write(reinterpret_cast<const char*>(p.bytes.data()) + offset, n)) return false;
    p.file->ReleasePages(p.bytes.subspan(offset, n));  // served: the provider's memory stays about one chunk
    return true;
  }
  return false;
}

void Send(httplib::Response& res, ProvideAnswer a) {
  res.status = a.status;
  if (a.stream.empty()) return res.set_content(std::move(a.body), a.content_type.c_str());
  size_t length = a.body.size();
  for (const StreamPiece& p : a.stream) length += p.bytes.size();
  res.set_content_provider(
      length, a.content_type,
      [head = std::move(a.body), pieces = std::move(a.stream)](size_t offset, size_t, httplib::DataSink& sink) {
        return WriteStreamed(head, pieces, offset, sink);
      });
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
  s.Get(run + "/base/block/" + number, [svc](const httplib::Request& req, httplib::Response& res) {
    Send(res, svc->BaseSlice(BearerOf(req), req.matches[1].str(), PathNumber(req.matches[2])));
  });
  s.Get(run + "/base/([A-Za-z0-9_.]{1,64})", [svc](const httplib::Request& req, httplib::Response& res) {
    Send(res, svc->BaseFile(BearerOf(req), req.matches[1].str(), req.matches[2].str()));
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
