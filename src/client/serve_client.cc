#include "client/serve_client.h"

#include <httplib.h>

#include "base/strict_json.h"

namespace aftune {

using Json = nlohmann::json;

namespace {

// Seconds a reply may take: a completion waits for its batch to decode.
constexpr int kReadTimeoutSeconds = 600;

Result<Json> ParseReply(const httplib::Result& res, const std::string& what) {
  if (!res) return Status::IOError(what + ": " + httplib::to_string(res.error()));
  if (res->status >= 400) {
    // Read leniently, only to quote the server's message in the error.
    const Json body = Json::parse(res->body, nullptr, /*allow_exceptions=*/false);
    std::string message = "HTTP " + std::to_string(res->status);
    if (body.is_object() && body.contains("error") && body["error"].is_object() &&
        body["error"].contains("message") && body["error"]["message"].is_string())
      message += ": " + body["error"]["message"].get<std::string>();
    if (res->status < 500) return Status::InvalidArgument(what + ": " + message);
    return Status::IOError(what + ": " + message);
  }
  AFTUNE_ASSIGN_OR_RETURN(Json body, ParseStrictJson(res->body, what + ": the reply"));
  if (!body.is_object()) return Status::Corruption(what + ": the reply is not a JSON object");
  return body;
}

Result<std::string> StringField(const Json& j, const std::string& key, const std::string& what) {
  if (!j.contains(key) || !j[key].is_string()) return Status::Corruption(what + ": no string '" + key + "'");
  return j[key].get<std::string>();
}

Result<std::vector<Hash>> ProofField(const Json& j, const std::string& what) {
  if (!j.contains("proof") || !j["proof"].is_array()) return Status::Corruption(what + ": no array 'proof'");
  std::vector<Hash> out;
  for (const Json& h : j["proof"]) {
    if (!h.is_string()) return Status::Corruption(what + ": a proof hash is not a string");
    Result<Hash> hash = HashFromHex(h.get<std::string>());
    if (!hash.ok()) return Status::Corruption(what + ": " + hash.status().message());
    out.push_back(*hash);
  }
  return out;
}

}  // namespace

Result<std::unique_ptr<ServeClient>> ServeClient::Create(const std::string& url) {
  const std::string prefix = "http://";
  const size_t colon = url.rfind(':');
  if (url.rfind(prefix, 0) != 0 || colon < prefix.size() || url.find('/', prefix.size()) != std::string::npos ||
      colon + 1 == url.size())
    return Status::InvalidArgument("server URL '" + url + "' is not of the form http://HOST:PORT");
  auto http = std::make_unique<httplib::Client>(url);
  http->set_read_timeout(kReadTimeoutSeconds, 0);
  http->set_keep_alive(true);
  http->set_tcp_nodelay(true);
  return std::unique_ptr<ServeClient>(new ServeClient(url, std::move(http)));
}

ServeClient::ServeClient(std::string url, std::unique_ptr<httplib::Client> http)
    : url_(std::move(url)), http_(std::move(http)) {}

ServeClient::~ServeClient() = default;

Result<Json> ServeClient::Get(const std::string& path) { return ParseReply(http_->Get(path), "GET " + path); }

Result<Json> ServeClient::Post(const std::string& path, const Json& body) {
  return ParseReply(http_->Post(path, body.dump(), "application/json"), "POST " + path);
}

Result<Json> ServeClient::Complete(const Json& request) { return Post("/v1/completions", request); }

Result<Json> ServeClient::ChatComplete(const Json& request) { return Post("/v1/chat/completions", request); }

Result<std::vector<std::string>> ServeClient::ModelNames() {
  AFTUNE_ASSIGN_OR_RETURN(Json j, Get("/v1/models"));
  if (!j.contains("data") || !j["data"].is_array()) return Status::Corruption("GET /v1/models: no array 'data'");
  std::vector<std::string> names;
  for (const Json& m : j["data"]) {
    if (!m.is_object()) return Status::Corruption("GET /v1/models: a model is not an object");
    AFTUNE_ASSIGN_OR_RETURN(std::string id, StringField(m, "id", "GET /v1/models"));
    names.push_back(std::move(id));
  }
  return names;
}

Result<std::string> ServeClient::LatestCheckpoint() {
  AFTUNE_ASSIGN_OR_RETURN(Json j, Get("/v1/log/checkpoint"));
  return StringField(j, "checkpoint", "GET /v1/log/checkpoint");
}

Result<std::string> ServeClient::ReceiptAt(uint64_t index) {
  const std::string path = "/v1/log/receipts/" + std::to_string(index);
  AFTUNE_ASSIGN_OR_RETURN(Json j, Get(path));
  return StringField(j, "receipt", "GET " + path);
}

Result<InclusionProof> ServeClient::ProveInclusion(uint64_t index, uint64_t size) {
  const std::string path =
      "/v1/log/proof/inclusion?index=" + std::to_string(index) + "&size=" + std::to_string(size);
  AFTUNE_ASSIGN_OR_RETURN(Json j, Get(path));
  return ProofField(j, "GET " + path);
}

Result<ConsistencyProof> ServeClient::ProveConsistency(uint64_t old_size, uint64_t new_size) {
  const std::string path =
      "/v1/log/proof/consistency?old=" + std::to_string(old_size) + "&new=" + std::to_string(new_size);
  AFTUNE_ASSIGN_OR_RETURN(Json j, Get(path));
  return ProofField(j, "GET " + path);
}

}  // namespace aftune
