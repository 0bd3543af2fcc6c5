// The HTTP server and ServeClient end to end on loopback.
#include "serve/http_server.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <thread>

#include "commit/checkpoint.h"
#include "commit/encoding.h"
#include "commit/note.h"
#include "client/serve_client.h"
#include "protocol/receipt_bundle.h"
#include "serve/serve_test_util.h"

namespace aftune {
namespace {

using Json = nlohmann::json;

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<HttpServer>(*f_.service, f_.log.get(), 8);
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
  Result<Json> bad = client_->Complete({{"model", "tiny"}, {"prompt", "a"}, {"n", 3}});
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
  auto bad = raw.Post("/v1/completions", R"({"model": "tiny", "prompt": "a", "stream": true, "n": 2})",
                      "application/json");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_EQ(Json::parse(bad->body)["error"]["param"], "n");
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
