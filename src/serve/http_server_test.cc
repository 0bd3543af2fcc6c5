// The HTTP server and ServeClient end to end on loopback.
#include "serve/http_server.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <sys/stat.h>

#include "commit/checkpoint.h"
#include "commit/encoding.h"
#include "commit/note.h"
#include "client/serve_client.h"
#include "protocol/receipt_bundle.h"
#include "base/file.h"
#include "serve/api_keys.h"
#include "serve/http_test_util.h"

namespace aftune {
namespace {

using Json = nlohmann::json;

class HttpServerTest : public ::testing::Test {
 protected:
  virtual HttpServerOptions Options() { return {}; }
  void SetUp() override {
    server_ = std::make_unique<testing::RunningHttpServer>(f_, Options());
    url_ = server_->url();
    client_ = ServeClient::Create(url_).value();
  }
  void TearDown() override {
    client_.reset();  // closes its keep-alive connection
    server_.reset();
  }

  Checkpoint Open(const std::string& note) {
    PublicKey known[] = {f_.key.public_key()};
    Result<Note> n = OpenNote(note, known);
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    return n.ok() ? *ParseCheckpoint(n->text) : Checkpoint{};
  }

  testing::ServedFixture f_{"http"};
  std::unique_ptr<testing::RunningHttpServer> server_;
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

// A client that sends a request and closes its connection before the
// answer: the generation is cancelled, and once the server has stopped
// (which waits for every request) nothing is in the log.
TEST_F(HttpServerTest, AClientGoneBeforeItsAnswerIsNotReceipted) {
  const int port = std::stoi(url_.substr(url_.rfind(':') + 1));
  const std::string body = R"({"model": "tiny", "prompt": "3+4=", "max_tokens": 200, "temperature": 0})";
  for (bool leaves : {true, false}) {
    const int fd = testing::ConnectFrom(port);
    ASSERT_GE(fd, 0);
    ASSERT_TRUE(testing::SendAll(fd, "POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                                         "\r\nContent-Type: application/json\r\nContent-Length: " +
                                         std::to_string(body.size()) + "\r\n\r\n" + body));
    if (!leaves) {
      char status[13] = {};
      ASSERT_EQ(::recv(fd, status, 12, MSG_WAITALL), 12);
      EXPECT_STREQ(status, "HTTP/1.1 200");
    }
    ::close(fd);
  }
  server_.reset();
  EXPECT_EQ(f_.log->size(), 1u);  // the one that stayed
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
