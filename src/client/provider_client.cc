#include "client/provider_client.h"

#include <httplib.h>

#include <new>
#include <thread>

#include <nlohmann/json.hpp>

#include "base/file.h"
#include "commit/encoding.h"
#include "protocol/audit_api.h"

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

Result<std::unique_ptr<ProviderClient>> ProviderClient::Create(const std::string& url, std::string token,
                                                               const Hash& commitment_digest, RemoteLimits limits) {
  const std::string scheme = "http://";
  if (!url.starts_with(scheme) || url.size() == scheme.size() ||
      url.find('/', scheme.size()) != std::string::npos)
    return Status::InvalidArgument("--provider '" + url + "': expected http://HOST:PORT");
  if (token.empty()) return Status::InvalidArgument("the bearer token is empty");
  return std::unique_ptr<ProviderClient>(new ProviderClient(url, std::move(token), commitment_digest, limits));
}

ProviderClient::ProviderClient(std::string url, std::string token, const Hash& run, RemoteLimits limits)
    : url_(std::move(url)), token_(std::move(token)), run_(run), limits_(limits),
      http_(std::make_unique<httplib::Client>(url_)) {
  http_->set_connection_timeout(limits_.connect_timeout);
  http_->set_read_timeout(limits_.read_timeout);
  http_->set_write_timeout(limits_.read_timeout);
  http_->set_keep_alive(true);
  http_->set_tcp_nodelay(true);  // small requests on a kept-alive connection: no Nagle delay
}

ProviderClient::~ProviderClient() = default;

AnswerBounds ProviderClient::DefaultBounds() const { return {limits_.max_answer_bytes, limits_.deadline}; }

AnswerBounds ProviderClient::BoundsFor(uint64_t max_bytes) const {
  const uint64_t seconds = max_bytes / std::max<uint64_t>(limits_.min_bytes_per_second, 1);
  return {max_bytes, limits_.deadline + std::chrono::seconds(seconds)};
}

Result<std::string> ProviderClient::Fetch(const std::string& method, const std::string& path, const std::string& body,
                                          uint64_t* kind_bytes, AnswerBounds bounds) {
  std::chrono::milliseconds pause = limits_.first_pause;
  for (int attempt = 1;; ++attempt) {
    bool retry = false;
    Result<std::string> r = FetchOnce(method, path, body, kind_bytes, bounds, &retry);
    if (r.ok()) return r;  // moved: an answer may be a gigabyte
    if (!retry || attempt >= limits_.attempts) return r.status().WithContext(std::to_string(attempt) + " attempt(s)");
    std::this_thread::sleep_for(pause);
    pause *= 2;
  }
}

Result<std::string> ProviderClient::FetchOnce(const std::string& method, const std::string& path,
                                              const std::string& body, uint64_t* kind_bytes, AnswerBounds bounds,
                                              bool* retry) {
  const std::string what = method + " " + url_ + path;
  ++tally_.requests;
  const Clock::time_point deadline = Clock::now() + bounds.deadline;
  const std::string late = "the answer did not complete within " + std::to_string(bounds.deadline.count()) + " ms";
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
    if (length.empty()) return true;
    const Result<uint64_t> announced = ParseDecimalU64(length);
    if (!announced.ok() || *announced > bounds.max_bytes) {
      cut = "the answer announces " + length.substr(0, 40) + " bytes, above the cap of " +
            std::to_string(bounds.max_bytes);
      return false;
    }
    try {
      received.reserve(*announced);  // a large answer grows once, not by doubling
    } catch (const std::bad_alloc&) {
      // Memory is short: let the answer grow as it comes (the cap still holds).
    }
    return true;
  };
  req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
    if (received.size() + n > bounds.max_bytes) {
      cut = "the answer exceeds the cap of " + std::to_string(bounds.max_bytes) + " bytes";
      return false;
    }
    if (Clock::now() > deadline) {
      cut = late;
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
  if (Clock::now() > deadline) return Status::IOError(what + ": " + late);
  if (res->status == 200) return received;
  const std::string message = what + ": " + ErrorMessage(res->status, received);
  if (res->status == 404) return Status::NotFound(message);
  if (res->status >= 400 && res->status < 500) return Status::InvalidArgument(message);
  *retry = res->status >= 500;
  return Status::IOError(message);
}

Status ProviderClient::CheckAccess() {
  const std::string path = AuditCommitmentsPath();
  AFTUNE_ASSIGN_OR_RETURN(std::string body, Fetch("GET", path, "", &tally_.line_bytes, DefaultBounds()));
  AFTUNE_ASSIGN_OR_RETURN(std::vector<HeldRun> runs, ParseCommitmentsAnswer(body, url_ + path));
  for (const HeldRun& r : runs)
    if (r.digest == run_) return Status::Ok();
  return Status::NotFound(url_ + " does not list the run of commitment " + HashToHex(run_) +
                          " among the runs this token opens");
}

Result<std::string> ReadBearerTokenFile(const std::string& path) {
  AFTUNE_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  if (text.ends_with('\n')) text.pop_back();
  if (text.empty() || text.size() > 4096 || text.find_first_of(" \t\r\n") != std::string::npos)
    return Status::InvalidArgument(path + ": expected one bearer token on one line, no whitespace");
  return text;
}

}  // namespace aftune
