#include "client/remote_openings.h"

#include <httplib.h>

#include <thread>

#include "base/file.h"

namespace aftune {

namespace {

using Clock = std::chrono::steady_clock;

// The provider's {"error": "…"} message, read leniently only to quote it.
std::string ErrorMessage(int status, const std::string& body) {
  const nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  std::string message = "HTTP " + std::to_string(status);
  if (j.is_object() && j.contains("error") && j["error"].is_string())
    message += ": " + j["error"].get<std::string>().substr(0, 500);
  return message;
}

}  // namespace

Result<std::unique_ptr<RemoteOpenings>> RemoteOpenings::Create(const std::string& url, std::string token,
                                                               const Hash& commitment_digest, RemoteLimits limits) {
  const std::string scheme = "http://";
  if (!url.starts_with(scheme) || url.size() == scheme.size() ||
      url.find('/', scheme.size()) != std::string::npos)
    return Status::InvalidArgument("--provider '" + url + "': expected http://HOST:PORT");
  if (token.empty()) return Status::InvalidArgument("the bearer token is empty");
  return std::unique_ptr<RemoteOpenings>(new RemoteOpenings(url, std::move(token), commitment_digest, limits));
}

RemoteOpenings::RemoteOpenings(std::string url, std::string token, const Hash& run, RemoteLimits limits)
    : url_(std::move(url)), token_(std::move(token)), run_(run), limits_(limits),
      http_(std::make_unique<httplib::Client>(url_)) {
  http_->set_connection_timeout(limits_.connect_timeout);
  http_->set_read_timeout(limits_.read_timeout);
  http_->set_write_timeout(limits_.read_timeout);
  http_->set_keep_alive(true);
  http_->set_tcp_nodelay(true);  // small requests on a kept-alive connection: no Nagle delay
}

RemoteOpenings::~RemoteOpenings() = default;

Result<std::string> RemoteOpenings::Fetch(const std::string& method, const std::string& path,
                                          const std::string& body, uint64_t* kind_bytes) {
  std::chrono::milliseconds pause = limits_.first_pause;
  for (int attempt = 1;; ++attempt) {
    bool retry = false;
    Result<std::string> r = FetchOnce(method, path, body, kind_bytes, &retry);
    if (r.ok() || !retry || attempt >= limits_.attempts)
      return r.ok() ? r : r.status().WithContext(std::to_string(attempt) + " attempt(s)");
    std::this_thread::sleep_for(pause);
    pause *= 2;
  }
}

Result<std::string> RemoteOpenings::FetchOnce(const std::string& method, const std::string& path,
                                              const std::string& body, uint64_t* kind_bytes, bool* retry) {
  const std::string what = method + " " + url_ + path;
  ++tally_.requests;
  const Clock::time_point deadline = Clock::now() + limits_.deadline;
  std::string received;
  std::string cut;  // why the answer was cut off
  httplib::Request req;
  req.method = method;
  req.path = path;
  req.headers = {{"Authorization", "Bearer " + token_}};
  if (method == "POST") {
    req.body = body;
    req.set_header("Content-Type", "application/json");
  }
  req.response_handler = [&](const httplib::Response& res) {
    const std::string length = res.get_header_value("Content-Length");
    if (!length.empty() && length.size() <= 20 && std::stoull(length) > limits_.max_answer_bytes) {
      cut = "the answer announces " + length + " bytes, above the cap of " + std::to_string(limits_.max_answer_bytes);
      return false;
    }
    return true;
  };
  req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
    if (received.size() + n > limits_.max_answer_bytes) {
      cut = "the answer exceeds the cap of " + std::to_string(limits_.max_answer_bytes) + " bytes";
      return false;
    }
    if (Clock::now() > deadline) {
      cut = "the answer did not complete within " + std::to_string(limits_.deadline.count()) + " ms";
      return false;
    }
    received.append(data, n);
    *kind_bytes += n;
    return true;
  };
  httplib::Result res = http_->send(req);
  if (!cut.empty()) return Status::IOError(what + ": " + cut);
  if (!res) {
    *retry = true;
    return Status::IOError(what + ": " + httplib::to_string(res.error()));
  }
  if (Clock::now() > deadline)
    return Status::IOError(what + ": the answer did not complete within " + std::to_string(limits_.deadline.count()) +
                           " ms");
  if (res->status == 200) return received;
  const std::string message = what + ": " + ErrorMessage(res->status, received);
  if (res->status == 404) return Status::NotFound(message);
  if (res->status >= 400 && res->status < 500) return Status::InvalidArgument(message);
  *retry = res->status >= 500;
  return Status::IOError(message);
}

Status RemoteOpenings::CheckAccess() {
  const std::string path = AuditCommitmentsPath();
  AFTUNE_ASSIGN_OR_RETURN(std::string body, Fetch("GET", path, "", &tally_.line_bytes));
  AFTUNE_ASSIGN_OR_RETURN(std::vector<HeldRun> runs, ParseCommitmentsAnswer(body, url_ + path));
  for (const HeldRun& r : runs)
    if (r.digest == run_) return Status::Ok();
  return Status::NotFound(url_ + " does not list the run of commitment " + HashToHex(run_) +
                          " among the runs this token opens");
}

Result<std::vector<OpenedLine>> RemoteOpenings::Lines(std::span<const uint64_t> indices) {
  std::vector<OpenedLine> out;
  for (size_t at = 0; at < indices.size(); at += kMaxLinesPerRequest) {
    std::span<const uint64_t> part = indices.subspan(at, std::min(kMaxLinesPerRequest, indices.size() - at));
    const std::string path = AuditLinesPath(run_);
    AFTUNE_ASSIGN_OR_RETURN(std::string body, Fetch("POST", path, LinesRequest(part), &tally_.line_bytes));
    AFTUNE_ASSIGN_OR_RETURN(std::vector<OpenedLine> lines, ParseLinesAnswer(body, part, url_ + path));
    tally_.lines += lines.size();
    for (OpenedLine& l : lines) out.push_back(std::move(l));
  }
  return out;
}

Result<TensorMap> RemoteOpenings::BlockState(int64_t step, int64_t block) {
  const std::string path = AuditStatePath(run_, step, block);
  AFTUNE_ASSIGN_OR_RETURN(std::string body, Fetch("GET", path, "", &tally_.state_bytes));
  AFTUNE_ASSIGN_OR_RETURN(TensorMap state, ParseStateAnswer(std::move(body), url_ + path));
  ++tally_.states;
  return state;
}

Result<std::vector<Tensor>> RemoteOpenings::Boundary(int64_t step, int64_t boundary, BoundaryKind kind) {
  const std::string path = AuditBoundaryPath(run_, step, boundary, kind);
  AFTUNE_ASSIGN_OR_RETURN(std::string body, Fetch("GET", path, "", &tally_.boundary_bytes));
  AFTUNE_ASSIGN_OR_RETURN(std::vector<Tensor> tensors, ParseBoundaryAnswer(std::move(body), url_ + path));
  ++tally_.boundaries;
  return tensors;
}

Result<std::string> ReadBearerTokenFile(const std::string& path) {
  AFTUNE_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  if (text.ends_with('\n')) text.pop_back();
  if (text.empty() || text.size() > 4096 || text.find_first_of(" \t\r\n") != std::string::npos)
    return Status::InvalidArgument(path + ": expected one bearer token on one line, no whitespace");
  return text;
}

}  // namespace aftune
