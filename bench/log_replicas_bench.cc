// Receipt-log appends per second on PostgreSQL with 2 serving replicas,
// against PostgreSQL alone storing the same rows, in the same run.
//
// Usage: log_replicas_bench [--runs R] [--appends N] [--proof-entries P]
//   R  runs of each measurement, reported as their median (default 3)
//   N  appends per measurement with many appenders (default 4000; a
//      single appender does N/10)
//   P  entries of the log in which proofs are timed (default 100000; 0: none)
//
// Starts a throwaway PostgreSQL cluster (tests/postgres/cluster.sh start
// DIR --durable: fsync on, as a production server runs) on a Unix socket,
// with a fresh database per run. Every append is one signed receipt
// (Ed25519, ~400 bytes), built by make_leaf under the log's lock as
// `aftune serve` builds it, and acknowledged after its COMMIT.
//
//   log, 2 replicas: two ReceiptLog objects on one database, each with its
//     own two connections as two `aftune serve` processes have, and T
//     appending threads each;
//   log, 1 replica: one ReceiptLog, 2T threads;
//   PostgreSQL alone (the competitor): 2T connections, each signing a
//     receipt and inserting it as one row of a table with a bigserial key,
//     one transaction per row (synchronous_commit on): what the server
//     gives the same rows with no log, no shared sequence and no tree;
//   SQLite log, 1 process: the embedded default, 2T threads, for scale.
//
// Then proofs: a log of P entries appended through one replica, inclusion
// and consistency proofs of random sizes asked of the other (each one query
// of O(log P) stored hashes), median and p99 of 2000, against the same on
// SQLite.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "commit/encoding.h"
#include "protocol/receipt.h"
#include "serve/postgres.h"
#include "serve/receipt_log.h"

namespace aftune {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// A throwaway cluster for the run.
struct Cluster {
  Cluster() {
    const std::string cmd = script + " start " + dir + " --durable";
    AFTUNE_CHECK(std::system(cmd.c_str()) == 0);
  }
  ~Cluster() { (void)std::system((script + " stop " + dir).c_str()); }
  std::string Uri(const std::string& db) const { return "postgresql:///" + db + "?host=" + dir + "&user=aftune"; }
  // A fresh database; its URI.
  std::string NewDatabase() {
    const std::string name = "bench_" + std::to_string(databases++);
    PgConnection admin = PgConnection::Open(Uri("postgres")).value();
    AFTUNE_CHECK(admin.Exec("CREATE DATABASE " + name).ok());
    return Uri(name);
  }
  std::string script = std::string(AFTUNE_SOURCE_DIR) + "/tests/postgres/cluster.sh";
  std::string dir = "/tmp/aftune-pg-bench-" + std::to_string(::getpid());
  int databases = 0;
};

Receipt BenchReceipt(const PrivateKey& key) {
  return Receipt{key.name(), 0, Sha256Of(std::string_view("m")), {}, {}, Sha256Of(std::string_view("q")),
                 Sha256Of(std::string_view("r"))};
}

// `threads` appenders on each of `logs`, `total` appends in all, each a
// receipt signed for its index; appends/s.
double LogAppends(const std::vector<ReceiptLog*>& logs, int threads, int total, const PrivateKey& key) {
  const int per_thread = std::max(1, total / (threads * static_cast<int>(logs.size())));
  std::vector<std::thread> pool;
  auto t0 = Clock::now();
  for (ReceiptLog* log : logs)
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&, log] {
        Receipt r = BenchReceipt(key);
        for (int i = 0; i < per_thread; ++i)
          AFTUNE_CHECK(log->Append(1, [&](uint64_t index) {
                            r.index = index;
                            return SignReceipt(r, key);
                          }).ok());
      });
  for (auto& t : pool) t.join();
  return static_cast<double>(per_thread) * threads * static_cast<double>(logs.size()) / Seconds(t0);
}

// The competitor: `connections` clients each signing a receipt and
// inserting it as one row, one transaction each; rows/s.
double BareInserts(const std::string& uri, int connections, int total, const PrivateKey& key) {
  {
    PgConnection setup = PgConnection::Open(uri).value();
    AFTUNE_CHECK(setup.Exec("CREATE TABLE receipts(id bigserial PRIMARY KEY, data bytea NOT NULL)").ok());
  }
  const int per_conn = std::max(1, total / connections);
  std::vector<PgConnection> conns;
  for (int c = 0; c < connections; ++c) {
    conns.push_back(PgConnection::Open(uri).value());
    AFTUNE_CHECK(conns.back().Exec("SET synchronous_commit = on").ok());
  }
  std::vector<std::thread> pool;
  auto t0 = Clock::now();
  for (int c = 0; c < connections; ++c)
    pool.emplace_back([&, c] {
      Receipt r = BenchReceipt(key);
      for (int i = 0; i < per_conn; ++i) {
        r.index = static_cast<uint64_t>(i);
        const std::string note = SignReceipt(r, key);
        AFTUNE_CHECK(conns[c].Query("INSERT INTO receipts(data) VALUES($1)", PgParams().Bytes(note)).ok());
      }
    });
  for (auto& t : pool) t.join();
  return static_cast<double>(per_conn) * connections / Seconds(t0);
}

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

// Proof latency at `entries` leaves appended through `builder`, proofs asked
// of `asked` and verified.
void BenchProofs(ReceiptLog& builder, ReceiptLog& asked, uint64_t entries, const char* what) {
  auto t0 = Clock::now();
  while (builder.size() < entries) {
    const uint64_t n = std::min<uint64_t>(65536, entries - builder.size());
    AFTUNE_CHECK(builder.Append(n, [](uint64_t i) { return "receipt " + std::to_string(i); }).ok());
  }
  const double build = Seconds(t0);
  const Hash root = asked.Root(entries).value();
  std::mt19937_64 rng(1);
  std::vector<double> incl, cons;
  for (int i = 0; i < 2000; ++i) {
    const uint64_t index = rng() % entries;
    auto t1 = Clock::now();
    InclusionProof p = asked.ProveInclusion(index, entries).value();
    incl.push_back(Seconds(t1));
    AFTUNE_CHECK(VerifyInclusion(index, entries, LeafHash(AsBytes("receipt " + std::to_string(index))), p, root).ok());
    const uint64_t old_size = 1 + rng() % (entries - 1);
    t1 = Clock::now();
    AFTUNE_CHECK(asked.ProveConsistency(old_size, entries).ok());
    cons.push_back(Seconds(t1));
  }
  std::printf("%s: %llu entries built in %.1f s; inclusion proof median %.0f us (p99 %.0f), consistency proof median "
              "%.0f us (p99 %.0f)\n",
              what, static_cast<unsigned long long>(entries), build, Median(incl) * 1e6, Percentile(incl, 0.99) * 1e6,
              Median(cons) * 1e6, Percentile(cons, 0.99) * 1e6);
  std::fflush(stdout);
}

}  // namespace
}  // namespace aftune

int main(int argc, char** argv) {
  using namespace aftune;
  int runs = 3, appends = 4000;
  uint64_t proof_entries = 100000;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--runs") runs = std::atoi(argv[i + 1]);
    else if (flag == "--appends") appends = std::atoi(argv[i + 1]);
    else if (flag == "--proof-entries") proof_entries = std::strtoull(argv[i + 1], nullptr, 10);
  }
  PrivateKey key = PrivateKey::FromSeed("bench.example", Ed25519Seed{}).value();
  Cluster cluster;
  const std::string sqlite_dir =
      (std::filesystem::temp_directory_path() / ("aftune-log-replicas-bench-" + std::to_string(::getpid()))).string();
  std::filesystem::create_directories(sqlite_dir);

  std::printf("appends/s, median of %d runs (each run's figure in brackets)\n", runs);
  for (int threads : {1, 16, 64}) {
    const int total = threads == 1 ? appends / 10 : appends;
    std::vector<double> two, one, bare, sqlite;
    for (int run = 0; run < runs; ++run) {
      {
        const std::string db = cluster.NewDatabase();
        auto a = ReceiptLog::Open(db, key).value(), b = ReceiptLog::Open(db, key).value();
        two.push_back(LogAppends({a.get(), b.get()}, threads, total, key));
        AFTUNE_CHECK(a->size() == b->size() && a->LatestCheckpoint() == b->LatestCheckpoint());
      }
      {
        auto a = ReceiptLog::Open(cluster.NewDatabase(), key).value();
        one.push_back(LogAppends({a.get()}, 2 * threads, total, key));
      }
      bare.push_back(BareInserts(cluster.NewDatabase(), 2 * threads, total, key));
      {
        const std::string path = sqlite_dir + "/run" + std::to_string(run) + "-" + std::to_string(threads) + ".db";
        auto a = ReceiptLog::Open(path, key).value();
        sqlite.push_back(LogAppends({a.get()}, 2 * threads, total, key));
      }
    }
    auto show = [](const std::vector<double>& v) {
      std::string s = std::to_string(static_cast<long>(Median(v))) + " [";
      for (size_t i = 0; i < v.size(); ++i) s += (i ? " " : "") + std::to_string(static_cast<long>(v[i]));
      return s + "]";
    };
    std::printf(
        "%3d appenders per replica: log on PostgreSQL, 2 replicas %s | 1 replica x %d %s | PostgreSQL alone, %d "
        "connections, one row per commit %s | ratio log (2 replicas) / PostgreSQL alone %.2f | SQLite log, 1 "
        "process x %d %s\n",
        threads, show(two).c_str(), 2 * threads, show(one).c_str(), 2 * threads, show(bare).c_str(),
        Median(two) / Median(bare), 2 * threads, show(sqlite).c_str());
    std::fflush(stdout);
  }
  if (proof_entries > 0) {
    const std::string db = cluster.NewDatabase();
    auto a = ReceiptLog::Open(db, key).value(), b = ReceiptLog::Open(db, key).value();
    BenchProofs(*a, *b, proof_entries, "proofs on PostgreSQL (built through one replica, asked of the other)");
    auto s = ReceiptLog::Open(sqlite_dir + "/proofs.db", key).value();
    BenchProofs(*s, *s, proof_entries, "proofs on SQLite");
  }
  std::filesystem::remove_all(sqlite_dir);
  return 0;
}
