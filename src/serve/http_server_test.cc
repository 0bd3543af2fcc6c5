// The HTTP server and ServeClient end to end on loopback.
#include "serve/http_server.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <arpa/inet.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <thread>

#include "commit/checkpoint.h"
#include "commit/encoding.h"
#include "commit/note.h"
#include "client/serve_client.h"
#include "protocol/receipt_bundle.h"
#include "base/file.h"
#include "serve/api_keys.h"
#include "serve/serve_test_util.h"

namespace aftune {
namespace {

using Json = nlohmann::json;

class HttpServerTest : public ::testing::Test {
 protected:
  virtual HttpServerOptions Options() { return {}; }
  void SetUp() override {
    server_ = std::make_unique<HttpServer>(*f_.service, f_.log.get(), 256, Options());
    Result<int> port = server_->Bind("127.0.0.1", 0);
    ASSERT_TRUE(port.ok()) << port.status().ToString();
    url_ = "http://127.0.0.1:" + std::to_string(*port);
    thread_ = std::thread([this] { EXPECT_TRUE(server_->Run().ok()); });
    client_ = ServeClient::Create(url_).value();
  }
  void TearDown() override {
    client_.reset();  // closes its keep-alive connection, which Stop would wait for
    server_->Stop();
    thread_.join();
  }

  Checkpoint Open(const std::string& note) {
    PublicKey known[] = {f_.key.public_key()};
    Result<Note> n = OpenNote(note, known);
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    return n.ok() ? *ParseCheckpoint(n->text) : Checkpoint{};
  }

  testing::ServedFixture f_{"http"};
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
  std::string url_;
  std::unique_ptr<ServeClient> client_;
};

TEST_F(HttpServerTest, CompletionsReceiptsAndProofs) {
  EXPECT_EQ(*client_->ModelNames(), std::vector<std::string>{"tiny"});
  Checkpoint empty = Open(*client_->LatestCheckpoint());
  EXPECT_EQ(empty.size, 0u);
  std::vector<ReceiptBundle> bundles;
  for (int i = 0; i < 4; ++i) {
    Result<Json> reply = i % 2 ? client_->ChatComplete({{"model", "tiny"},
                                                        {"messages", {{{"role", "user"}, {"content", "hey"}}}},
                                                        {"max_tokens", 2},
                                                        {"seed", i}})
                               : client_->Complete({{"model", "tiny"}, {"prompt", "abc"}, {"max_tokens", 3}});
    ASSERT_TRUE(reply.ok()) << reply.status().ToString();
    Result<ReceiptBundle> b = ReceiptBundleFromJson((*reply)["aftune_receipt"]);
    ASSERT_TRUE(b.ok());
    ASSERT_TRUE(CheckReceiptBundle(*b).ok());
    bundles.push_back(*b);
  }
  Checkpoint head = Open(*client_->LatestCheckpoint());
  EXPECT_EQ(head.size, 4u);
  for (const ReceiptBundle& b : bundles) {
    EXPECT_EQ(*client_->ReceiptAt(b.log_index), b.receipt);
    Result<InclusionProof> proof = client_->ProveInclusion(b.log_index, head.size);
    ASSERT_TRUE(proof.ok());
    EXPECT_TRUE(VerifyInclusion(b.log_index, head.size, LeafHash(AsBytes(b.receipt)), *proof, head.root).ok());
    Checkpoint seen = Open(b.checkpoint);
    Result<ConsistencyProof> cons = client_->ProveConsistency(seen.size, head.size);
    ASSERT_TRUE(cons.ok());
    EXPECT_TRUE(VerifyConsistency(seen.size, head.size, seen.root, head.root, *cons).ok());
  }
  // Errors come back as statuses carrying the server's message.
  Result<Json> bad = client_->Complete({{"model", "tiny"}, {"prompt", "a"}, {"n", 0}});
  EXPECT_EQ(bad.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("'n'"), std::string::npos) << bad.status().ToString();
  EXPECT_EQ(client_->ReceiptAt(4).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(client_->ProveInclusion(0, 5).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(client_->ProveConsistency(3, 2).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(f_.log->size(), 4u);
}

TEST_F(HttpServerTest, EveryRefusalIsJson) {
  httplib::Client raw(url_);
  struct Case {
    httplib::Result res;
    int status;
  };
  Case cases[] = {
      {raw.Post("/v1/completions", "{not json", "application/json"), 400},
      {raw.Post("/v1/completions", std::string(kMaxRequestBytes + 10, ' '), "application/json"), 413},
      {raw.Get("/v1/nothing"), 404},
      {raw.Get("/v1/log/receipts/01"), 400},
      {raw.Get("/v1/log/receipts/99"), 404},
      {raw.Get("/v1/log/proof/inclusion?index=x&size=1"), 400},
      {raw.Get("/v1/log/proof/consistency?old=0"), 400},
  };
  for (const Case& c : cases) {
    ASSERT_TRUE(c.res) << httplib::to_string(c.res.error());
    EXPECT_EQ(c.res->status, c.status) << c.res->body;
    Json j = Json::parse(c.res->body, nullptr, false);
    EXPECT_TRUE(j.is_object() && j["error"]["message"].is_string()) << c.res->body;
  }
  auto health = raw.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(Json::parse(health->body)["status"], "ok");
  EXPECT_EQ(f_.log->size(), 0u);
}

TEST_F(HttpServerTest, StreamsServerSentEvents) {
  httplib::Client raw(url_);
  auto res = raw.Post("/v1/chat/completions",
                      R"({"model": "tiny", "messages": [{"role": "user", "content": "hey"}], "max_tokens": 4,
                          "stream": true, "stream_options": {"include_usage": true}})",
                      "application/json");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/event-stream");
  // Every event is "data: …\n\n"; the last is [DONE]; the one before it
  // carries the usage and the receipt.
  std::vector<std::string> events;
  size_t at = 0;
  while (at < res->body.size()) {
    ASSERT_EQ(res->body.compare(at, 6, "data: "), 0) << res->body.substr(at);
    size_t end = res->body.find("\n\n", at);
    ASSERT_NE(end, std::string::npos);
    events.push_back(res->body.substr(at + 6, end - at - 6));
    at = end + 2;
  }
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(events.back(), "[DONE]");
  Json last = Json::parse(events[events.size() - 2]);
  EXPECT_EQ(last["usage"]["completion_tokens"], 4);
  Result<ReceiptBundle> b = ReceiptBundleFromJson(last["aftune_receipt"]);
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(CheckReceiptBundle(*b).ok());
  EXPECT_EQ(f_.log->size(), 1u);
  // A bad streamed request is a plain JSON error, not a stream.
  auto bad = raw.Post("/v1/completions", R"({"model": "tiny", "prompt": "a", "stream": true, "n": 0})",
                      "application/json");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_EQ(Json::parse(bad->body)["error"]["param"], "n");
}

const char* kBody = R"({"model": "tiny", "prompt": "a", "max_tokens": 1})";

TEST_F(HttpServerTest, ForeignHostOriginAndContentTypeAreRefused) {
  httplib::Client raw(url_);
  const std::string port = url_.substr(url_.rfind(':'));
  struct Case {
    httplib::Headers headers;
    const char* type;
    int status;
  } cases[] = {
      {{{"Host", "evil.example" + port}}, "application/json", 403},   // DNS rebinding
      {{{"Host", "127.0.0.1:1"}}, "application/json", 403},           // another port
      {{{"Origin", "http://evil.example"}}, "application/json", 403},  // a web page's cross-origin POST
      {{{"Origin", "null"}}, "application/json", 403},
      {{}, "text/plain", 415},
      {{}, "application/x-www-form-urlencoded", 415},
      {{{"Origin", "http://localhost" + port}, {"Host", "localhost" + port}}, "application/json", 200},
      {{}, "application/json; charset=utf-8", 200},
  };
  for (const Case& c : cases) {
    auto res = raw.Post("/v1/completions", c.headers, kBody, c.type);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, c.status) << c.type << " " << res->body;
    EXPECT_TRUE(Json::parse(res->body)["error"].is_object() || c.status == 200) << res->body;
  }
  auto health = raw.Get("/health", {{"Host", "rebound.example" + port}});
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 403);
  EXPECT_EQ(f_.log->size(), 2u);
}

// A 20 MiB chunked body: refused once it passes the limit, so the server
// never reads (or buffers) the rest; the sender finds the connection closed.
TEST_F(HttpServerTest, ChunkedBodyLimitIsEnforcedWhileReading) {
  const int port = std::stoi(url_.substr(url_.rfind(':') + 1));
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  const std::string head = "POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                           "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
  ASSERT_EQ(::send(fd, head.data(), head.size(), MSG_NOSIGNAL), static_cast<ssize_t>(head.size()));
  const std::string chunk = "10000\r\n" + std::string(0x10000, ' ') + "\r\n";  // 64 KiB each
  // Loopback socket buffers can hold the whole body, so what shows the server
  // stopped reading is its 413 arriving while the body is still being sent.
  size_t sent = 0;
  const size_t total = 20u << 20;
  std::string reply(4096, '\0');
  ssize_t got = 0;
  while (sent < total && got <= 0) {
    ssize_t n = ::send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
    got = ::recv(fd, reply.data(), reply.size(), MSG_DONTWAIT);
  }
  if (got <= 0) got = ::recv(fd, reply.data(), reply.size(), 0);
  ::close(fd);
  ASSERT_GT(got, 0);
  EXPECT_EQ(reply.rfind("HTTP/1.1 413", 0), 0u) << reply.substr(0, 200);
  EXPECT_LT(sent, total) << "the reply came only after the whole body was sent";
  EXPECT_EQ(f_.log->size(), 0u);
}

// Slowloris: 160 connections that never finish their headers; an ordinary
// client is still served at once (the issue's bar: within 1 s).
TEST_F(HttpServerTest, SlowClientsDoNotStarveOthers) {
  const int port = std::stoi(url_.substr(url_.rfind(':') + 1));
  std::vector<int> slow;
  for (int i = 0; i < 160; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    const std::string part = "POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1";
    ASSERT_GT(::send(fd, part.data(), part.size(), MSG_NOSIGNAL), 0);
    slow.push_back(fd);
  }
  httplib::Client raw(url_);
  const auto start = std::chrono::steady_clock::now();
  auto res = raw.Post("/v1/completions", kBody, "application/json");
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  EXPECT_LT(took, std::chrono::seconds(1));
  for (int fd : slow) ::close(fd);
}

class HttpServerKeysTest : public HttpServerTest {
 protected:
  HttpServerOptions Options() override {
    HttpServerOptions o;
    o.api_keys = *ParseApiKeys("alice s3cret\nbob sha256:" + HashToHex(Sha256Of(std::string_view("b0b"))) + "\n",
                               "keys");
    return o;
  }
};

TEST_F(HttpServerKeysTest, GenerationNeedsABearerKeyTheLogDoesNot) {
  httplib::Client raw(url_);
  struct Case {
    httplib::Headers headers;
    int status;
  } cases[] = {
      {{}, 401},
      {{{"Authorization", "Bearer wrong"}}, 401},
      {{{"Authorization", "Basic s3cret"}}, 401},
      {{{"Authorization", "Bearer s3cret"}}, 200},
      {{{"Authorization", "Bearer b0b"}}, 200},
  };
  for (const Case& c : cases) {
    auto res = raw.Post("/v1/chat/completions", c.headers,
                        R"({"model": "tiny", "messages": [{"role": "user", "content": "a"}], "max_tokens": 1})",
                        "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, c.status) << res->body;
    if (c.status == 401) {
      EXPECT_EQ(Json::parse(res->body)["error"]["code"], "invalid_api_key");
    }
  }
  for (const char* path : {"/health", "/v1/models", "/v1/log/checkpoint", "/v1/log/receipts/0"}) {
    auto res = raw.Get(path);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200) << path;
  }
  EXPECT_EQ(f_.log->size(), 2u);
}

TEST(ApiKeys, FileFormatAndMode) {
  const std::string dir = testing::ServeTestDir("keys");
  const std::string path = dir + "/keys";
  ASSERT_TRUE(WriteFileAtomic(path, "# provider's clients\nalice s3cret\n").ok());
  ::chmod(path.c_str(), 0644);
  Result<std::vector<ApiKey>> open = ReadApiKeysFile(path);
  EXPECT_FALSE(open.ok());
  EXPECT_NE(open.status().message().find("chmod 600"), std::string::npos) << open.status().ToString();
  ::chmod(path.c_str(), 0600);
  Result<std::vector<ApiKey>> keys = ReadApiKeysFile(path);
  ASSERT_TRUE(keys.ok()) << keys.status().ToString();
  EXPECT_EQ(MatchApiKey(*keys, "s3cret"), "alice");
  EXPECT_EQ(MatchApiKey(*keys, "s3cre"), "");
  for (const char* bad : {"alice", "alice a b", "a x\na y", "a sha256:12", " a x", ""}) {
    Result<std::vector<ApiKey>> r = ParseApiKeys(bad, "f");
    EXPECT_FALSE(r.ok()) << bad;
  }
  EXPECT_NE(ParseApiKeys("ok x\nb y z\n", "f").status().message().find("f:2:"), std::string::npos);
}

TEST_F(HttpServerTest, ModelById) {
  httplib::Client raw(url_);
  auto ok = raw.Get("/v1/models/tiny");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  Json m = Json::parse(ok->body);
  EXPECT_EQ(m["id"], "tiny");
  EXPECT_EQ(m["object"], "model");
  auto missing = raw.Get("/v1/models/other");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(Json::parse(missing->body)["error"]["code"], "model_not_found");
}

}  // namespace
}  // namespace aftune
