// The cost of receipts: request latency and throughput of `aftune serve`'s
// HTTP API with receipts and the log on vs off (overhead in %), receipt-log
// appends per second under concurrent appenders, and inclusion/consistency
// proof latency in a log of 10^6 entries.
//
// Usage: serve_bench [--reps R] [--seconds S] [--log-entries N] [--append-runs A] [--only log]
//   R    20·R alternating off/on pairs of sequential requests, and R
//        alternating off/on throughput windows (default 5)
//   S    seconds of 32-client load for each of on and off (default 10)
//   N    entries in the proof-latency log (default 1000000; 0: no proofs)
//   A    runs of each appends measurement, reported as their median (default 5)
//   --only log: the log alone (appends, proofs), no model or server
//
// The model is the `small` preset; a request is a 20-token prompt and 16
// sampled tokens. "off" is the same server with no receipt signed and no
// log (InferenceService with log == nullptr); everything else is equal.
// Databases go to $TMPDIR and are removed at the end.
#include <httplib.h>
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "commit/encoding.h"
#include "infer/served_model.h"
#include "model/model_dir.h"
#include "model/model_init.h"
#include "client/serve_client.h"
#include "infer/generator.h"
#include "serve/http_server.h"
#include "serve/inference_service.h"
#include "protocol/receipt.h"
#include "serve/receipt_log.h"

namespace aftune {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}
double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

nlohmann::json Request(int i) {
  return {{"model", "small"}, {"prompt", "The quick brown fox jumps"}, {"max_tokens", 16},
          {"temperature", 0.8}, {"seed", i}};
}

// An in-process server on a free loopback port.
struct RunningServer {
  RunningServer(InferenceService& service, ReceiptLog* log) : server(service, log) {
    url = "http://127.0.0.1:" + std::to_string(server.Bind("127.0.0.1", 0).value());
    thread = std::thread([this] { AFTUNE_CHECK(server.Run().ok()); });
  }
  ~RunningServer() {
    server.Stop();
    thread.join();
  }
  HttpServer server;
  std::string url;
  std::thread thread;
};

// Latency (s) of one request.
double Latency(ServeClient& client, int seed) {
  auto t0 = Clock::now();
  AFTUNE_CHECK(client.Complete(Request(seed)).ok());
  return Seconds(t0);
}

struct Load {
  double per_second = 0;        // requests answered per second
  std::vector<double> latency;  // of each request (s)
};

// `clients` concurrent closed-loop clients over `seconds`.
Load RunLoad(const std::string& url, int clients, double seconds) {
  std::atomic<bool> stop{false};
  std::vector<std::vector<double>> latency(static_cast<size_t>(clients));
  std::vector<std::thread> threads;
  auto t0 = Clock::now();
  for (int c = 0; c < clients; ++c)
    threads.emplace_back([&, c] {
      auto client = ServeClient::Create(url).value();
      for (int i = 0; !stop; ++i) latency[static_cast<size_t>(c)].push_back(Latency(*client, c * 100000 + i));
    });
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : threads) t.join();
  Load load;
  for (const auto& l : latency) load.latency.insert(load.latency.end(), l.begin(), l.end());
  load.per_second = static_cast<double>(load.latency.size()) / Seconds(t0);
  return load;
}

void BenchFirstToken(const ServedModel& model, const std::string& url);

// Returns the median request latency at 32 clients with receipts.
double BenchRequests(const ServedModel& model, const PrivateKey& key, const std::string& dir, int reps,
                     double seconds) {
  auto log = ReceiptLog::Open(dir + "/requests.db", key).value();
  ServedIdentity identity{"small", Sha256Of(std::string_view("state")), {}, {}};
  InferenceService on_service(model, identity, key, log.get(), {});
  InferenceService off_service(model, identity, key, nullptr, {});
  RunningServer on(on_service, log.get()), off(off_service, nullptr);
  BenchFirstToken(model, on.url);
  auto on_client = ServeClient::Create(on.url).value();
  auto off_client = ServeClient::Create(off.url).value();
  std::vector<double> lat_on, lat_off;
  // Alternating, so that load drift hits both alike, and which goes first
  // alternating too (the one that runs right after the other ran slower in
  // every run before, in either mode); 3 warm-ups.
  for (int i = -3; i < reps * 20; ++i) {
    double t_off, t_on;
    if (i % 2 == 0) {
      t_off = Latency(*off_client, i + 3);
      t_on = Latency(*on_client, i + 3);
    } else {
      t_on = Latency(*on_client, i + 3);
      t_off = Latency(*off_client, i + 3);
    }
    if (i < 0) continue;
    lat_off.push_back(t_off);
    lat_on.push_back(t_on);
  }
  const double m_on = Median(lat_on), m_off = Median(lat_off);
  std::printf("request latency, 1 client, median of %zu (p90):  receipts off %.2f ms (%.2f)  on %.2f ms (%.2f)"
              "  overhead %+.2f%%\n",
              lat_on.size(), m_off * 1e3, Percentile(lat_off, 0.9) * 1e3, m_on * 1e3, Percentile(lat_on, 0.9) * 1e3,
              100.0 * (m_on - m_off) / m_off);
  std::vector<double> t_off, t_on, l_off, l_on;
  for (int r = 0; r < reps; ++r) {
    Load off_load = RunLoad(off.url, 32, seconds / reps), on_load = RunLoad(on.url, 32, seconds / reps);
    t_off.push_back(off_load.per_second);
    t_on.push_back(on_load.per_second);
    l_off.insert(l_off.end(), off_load.latency.begin(), off_load.latency.end());
    l_on.insert(l_on.end(), on_load.latency.begin(), on_load.latency.end());
  }
  const double x_off = Median(t_off), x_on = Median(t_on);
  std::printf("throughput, 32 clients, median of %d alternating %.1f s windows:  receipts off %.1f req/s  on %.1f req/s"
              "  overhead %+.2f%%\n",
              reps, seconds / reps, x_off, x_on, 100.0 * (x_off - x_on) / x_off);
  std::printf("request latency, 32 clients, median (p99):  receipts off %.1f ms (%.1f)  on %.1f ms (%.1f)\n",
              Median(l_off) * 1e3, Percentile(l_off, 0.99) * 1e3, Median(l_on) * 1e3, Percentile(l_on, 0.99) * 1e3);
  return Median(l_on);
}

// What a receipt adds to a request when 32 replies finish together, as they
// do at 32 clients (one decode batch): 32 threads at once each sign a
// receipt and append it, acknowledged after its commit; the time until the
// last is acknowledged, median of 50 bursts, against the median request
// latency at 32 clients.
void BenchReceiptShare(const PrivateKey& key, const std::string& dir, double request_latency) {
  const std::string path = dir + "/share.db";
  auto log = ReceiptLog::Open(path, key).value();
  Receipt r{key.name(), 0, Sha256Of(std::string_view("m")), {}, {}, Sha256Of(std::string_view("q")),
            Sha256Of(std::string_view("r"))};
  std::vector<double> bursts;
  for (int b = 0; b < 50; ++b) {
    std::vector<std::thread> pool;
    auto t0 = Clock::now();
    for (int t = 0; t < 32; ++t)
      pool.emplace_back([&] {
        AFTUNE_CHECK(log->Append(1, [&](uint64_t index) {
          Receipt mine = r;
          mine.index = index;
          return SignReceipt(mine, key);
        }).ok());
      });
    for (auto& t : pool) t.join();
    bursts.push_back(Seconds(t0));
  }
  const double burst = Median(bursts);
  std::printf("receipts of 32 replies at once (sign + append each): median %.2f ms (p90 %.2f) = %.2f%% of the %.1f ms "
              "request at 32 clients\n",
              burst * 1e3, Percentile(bursts, 0.9) * 1e3, 100.0 * burst / request_latency, request_latency * 1e3);
  log.reset();
  std::filesystem::remove(path);
}

// Time to the first streamed event of a completion (one client) against
// the generator alone: prefill (max_tokens 1) and one decode step (max_tokens
// 2 minus 1), medians of 30.
void BenchFirstToken(const ServedModel& model, const std::string& url) {
  const Generator generator(*model.decoder, model.eos_ids,
                            [&model](const std::vector<int32_t>& ids) { return model.tokenizer->Decode(ids); });
  GenerationRequest g;
  g.prompt = model.tokenizer->EncodeWithSpecialTokens(Request(0)["prompt"].get<std::string>());
  g.sampling.temperature = 0.8f;
  std::vector<double> one, two, first;
  for (int i = 0; i < 30; ++i) {
    for (int64_t n : {1, 2}) {
      g.max_tokens = n;
      g.sampling.seed = static_cast<uint64_t>(i);
      auto t0 = Clock::now();
      generator.Generate({g});
      (n == 1 ? one : two).push_back(Seconds(t0));
    }
    nlohmann::json body = Request(i);
    body["stream"] = true;
    httplib::Client http(url);
    auto t0 = Clock::now();
    double at = -1;
    httplib::Request req;
    req.method = "POST";
    req.path = "/v1/completions";
    req.body = body.dump();
    req.set_header("Content-Type", "application/json");
    req.content_receiver = [&](const char*, size_t, uint64_t, uint64_t) {
      if (at < 0) at = Seconds(t0);
      return true;
    };
    auto res = http.send(req);
    AFTUNE_CHECK(res && res->status == 200 && at >= 0);
    first.push_back(at);
  }
  const double prefill = Median(one), step = Median(two) - prefill, bound = prefill + step + 0.005;
  std::printf("first streamed event %.2f ms median (p90 %.2f); prefill %.2f ms + one decode step %.2f ms + 5 ms = "
              "%.2f ms: %s\n",
              Median(first) * 1e3, Percentile(first, 0.9) * 1e3, prefill * 1e3, step * 1e3, bound * 1e3,
              Median(first) <= bound ? "within" : "OVER");
}

void BenchAppends(const PrivateKey& key, const std::string& dir, int append_runs) {
  Receipt r{key.name(), 0, Sha256Of(std::string_view("m")), {}, {}, Sha256Of(std::string_view("q")),
            Sha256Of(std::string_view("r"))};
  constexpr int kSigns = 2000;
  auto t0 = Clock::now();
  for (int i = 0; i < kSigns; ++i) {
    r.index = static_cast<uint64_t>(i);
    AFTUNE_CHECK(!SignReceipt(r, key).empty());
  }
  std::printf("receipt signing: %.1f us per receipt (1 thread)\n", Seconds(t0) / kSigns * 1e6);
  const std::string receipt = SignReceipt(r, key);  // a receipt-sized leaf
  for (int threads : {1, 16, 64, 256}) {
    std::vector<double> rates;
    for (int run = 0; run < append_runs; ++run) {
      const std::string path = dir + "/appends-" + std::to_string(threads) + ".db";
      auto log = ReceiptLog::Open(path, key).value();
      const int per_thread = threads == 1 ? 500 : 40000 / threads;
      std::vector<std::thread> pool;
      t0 = Clock::now();
      for (int t = 0; t < threads; ++t)
        pool.emplace_back([&] {
          for (int i = 0; i < per_thread; ++i) AFTUNE_CHECK(log->Append(1, [&](uint64_t) { return receipt; }).ok());
        });
      for (auto& t : pool) t.join();
      rates.push_back(threads * per_thread / Seconds(t0));
      log.reset();
      std::filesystem::remove(path);
    }
    std::printf("log appends (%zu-byte receipts, each acknowledged after its commit), %3d threads: median of %d runs "
                "%8.0f appends/s (runs: %.0f..%.0f)\n",
                receipt.size(), threads, append_runs, Median(rates), *std::min_element(rates.begin(), rates.end()),
                *std::max_element(rates.begin(), rates.end()));
  }
}

void BenchProofs(const PrivateKey& key, const std::string& dir, uint64_t entries) {
  const std::string path = dir + "/proofs.db";
  auto log = ReceiptLog::Open(path, key).value();
  auto t0 = Clock::now();
  while (log->size() < entries) {
    const uint64_t n = std::min<uint64_t>(65536, entries - log->size());
    AFTUNE_CHECK(log->Append(n, [](uint64_t i) { return "receipt " + std::to_string(i); }).ok());
  }
  std::printf("built a %llu-entry log in %.1f s (bulk appends of 65536)\n", static_cast<unsigned long long>(entries),
              Seconds(t0));
  const Hash root = log->Root(entries).value();
  std::mt19937_64 rng(1);
  std::vector<double> incl, cons;
  for (int i = 0; i < 2000; ++i) {
    const uint64_t index = rng() % entries;
    auto t1 = Clock::now();
    InclusionProof p = log->ProveInclusion(index, entries).value();
    incl.push_back(Seconds(t1));
    AFTUNE_CHECK(VerifyInclusion(index, entries, LeafHash(AsBytes("receipt " + std::to_string(index))), p, root).ok());
    const uint64_t old_size = 1 + rng() % (entries - 1);
    t1 = Clock::now();
    AFTUNE_CHECK(log->ProveConsistency(old_size, entries).ok());
    cons.push_back(Seconds(t1));
  }
  std::printf("at %llu entries: inclusion proof median %.1f us (p99 %.1f), consistency proof median %.1f us (p99 %.1f)\n",
              static_cast<unsigned long long>(entries), Median(incl) * 1e6, Percentile(incl, 0.99) * 1e6,
              Median(cons) * 1e6, Percentile(cons, 0.99) * 1e6);
  log.reset();
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace aftune

int main(int argc, char** argv) {
  using namespace aftune;
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  int reps = 5, append_runs = 5;
  bool only_log = false;
  double seconds = 10;
  uint64_t entries = 1000000;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--reps") reps = std::atoi(argv[i + 1]);
    else if (flag == "--seconds") seconds = std::atof(argv[i + 1]);
    else if (flag == "--log-entries") entries = std::strtoull(argv[i + 1], nullptr, 10);
    else if (flag == "--append-runs") append_runs = std::atoi(argv[i + 1]);
    else if (flag == "--only") only_log = std::string(argv[i + 1]) == "log";
  }
  const std::string dir =
      (std::filesystem::temp_directory_path() / ("aftune-serve-bench-" + std::to_string(::getpid()))).string();
  std::filesystem::create_directories(dir);
  ModelConfig cfg = PresetConfig("small").value();
  AFTUNE_CHECK(SaveModelDir(dir + "/small", cfg, InitModel(cfg, 1)).ok());
  auto model = LoadServedModel(dir + "/small", "").value();
  Ed25519Seed seed{};
  PrivateKey key = PrivateKey::FromSeed("bench.example", seed).value();

  if (!only_log) BenchReceiptShare(key, dir, BenchRequests(*model, key, dir, reps, seconds));
  BenchAppends(key, dir, append_runs);
  if (entries > 0) BenchProofs(key, dir, entries);
  std::filesystem::remove_all(dir);
  return 0;
}
