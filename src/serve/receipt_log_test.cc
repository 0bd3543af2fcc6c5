#include "serve/receipt_log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include "commit/checkpoint.h"
#include "commit/note.h"
#include "commit/test_vectors.h"
#include "serve/pg_test_util.h"
#include "serve/sqlite.h"

namespace aftune {
namespace {

using testing::H;
using testing::Hashes;

enum class Backend { kSqlite, kPostgres };
const char* BackendName(Backend b) { return b == Backend::kSqlite ? "Sqlite" : "Postgres"; }
void PrintTo(Backend b, std::ostream* os) { *os << BackendName(b); }

// A fresh database of the backend under test: its --db string, and SQL run
// on it (to break it on purpose).
class TestDb {
 public:
  TestDb(Backend backend, const std::string& tag) {
    if (backend == Backend::kPostgres) {
      pg_ = std::make_unique<testing::PgTestDatabase>(tag);
      db_ = pg_->uri();
      return;
    }
    std::string dir = (std::filesystem::temp_directory_path() /
                       ("aftune-log-" + tag + "-" + std::to_string(::getpid())))
                          .string();
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    db_ = dir + "/log.db";
  }
  const std::string& db() const { return db_; }
  Status Exec(const std::string& sql) const {
    if (pg_) return pg_->Exec(sql);
    AFTUNE_ASSIGN_OR_RETURN(Sqlite db, Sqlite::Open(db_));
    return db.Exec(sql);
  }

 private:
  std::unique_ptr<testing::PgTestDatabase> pg_;
  std::string db_;
};

// Every test of the log, on SQLite and on PostgreSQL.
class ReceiptLogTest : public ::testing::TestWithParam<Backend> {
 protected:
  TestDb NewDb(const std::string& tag) { return TestDb(GetParam(), tag); }
};

PrivateKey VectorKey(const nlohmann::json& v) {
  Result<PrivateKey> k = ParsePrivateKey(v["provider_private_file"].get<std::string>());
  EXPECT_TRUE(k.ok());
  return std::move(k).value();
}

Checkpoint OpenCheckpoint(const std::string& note, const PrivateKey& key) {
  PublicKey known[] = {key.public_key()};
  Result<Note> n = OpenNote(note, known);
  EXPECT_TRUE(n.ok()) << n.status().ToString();
  if (!n.ok()) return {};
  Result<Checkpoint> cp = ParseCheckpoint(n->text);
  EXPECT_TRUE(cp.ok()) << cp.status().ToString();
  return cp.ok() ? *cp : Checkpoint{};
}

TEST_P(ReceiptLogTest, ReproducesTheVectorLog) {
  nlohmann::json v = testing::LoadVectors("receipt.json");
  PrivateKey key = VectorKey(v);
  TestDb db = NewDb("vector");
  auto log = ReceiptLog::Open(db.db(), key);
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  EXPECT_EQ(OpenCheckpoint((*log)->LatestCheckpoint(), key).root, EmptyTreeRoot());
  const auto& receipts = v["receipts"];
  Result<AppendedLeaves> a = (*log)->Append(receipts.size(), [&](uint64_t i) {
    return receipts[i]["note"].get<std::string>();
  });
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->first_index, 0u);
  EXPECT_EQ(a->checkpoint, v["log"]["checkpoint_note"].get<std::string>());
  EXPECT_EQ((*log)->LatestCheckpoint(), a->checkpoint);
  EXPECT_EQ(*(*log)->Root(5), H(v["log"]["root_hex"].get<std::string>()));
  for (const auto& p : v["log"]["inclusion"]) {
    Result<InclusionProof> got = (*log)->ProveInclusion(p["index"].get<uint64_t>(), p["size"].get<uint64_t>());
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(*got, Hashes(p["proof"]));
  }
  for (const auto& p : v["log"]["consistency"]) {
    const uint64_t old_size = p["old"].get<uint64_t>();
    Result<ConsistencyProof> got = (*log)->ProveConsistency(old_size, 5);
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(*got, Hashes(p["proof"]));
    EXPECT_EQ(*(*log)->Root(old_size), H(p["old_root_hex"].get<std::string>()));
  }
  EXPECT_EQ(*(*log)->Leaf(3), receipts[3]["note"].get<std::string>());
}

TEST_P(ReceiptLogTest, OutOfRangeRequestsAreErrors) {
  Result<PrivateKey> key = PrivateKey::FromSeed("log.example", Ed25519Seed{});
  TestDb db = NewDb("range");
  auto log = ReceiptLog::Open(db.db(), *key);
  ASSERT_TRUE(log.ok());
  ASSERT_TRUE((*log)->Append(3, [](uint64_t i) { return "leaf " + std::to_string(i); }).ok());
  EXPECT_EQ((*log)->Leaf(3).status().code(), Status::Code::kNotFound);
  EXPECT_EQ((*log)->ProveInclusion(3, 3).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ((*log)->ProveInclusion(0, 4).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ((*log)->ProveConsistency(2, 4).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ((*log)->ProveConsistency(3, 2).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ((*log)->Root(4).status().code(), Status::Code::kInvalidArgument);
}

// Many threads append at once (group commit); every leaf is where its append
// said, every proof verifies against every checkpoint handed out, wrong
// proofs fail, and a reopened log is the same log.
TEST_P(ReceiptLogTest, ConcurrentAppendsProveAndSurviveReopen) {
  Result<PrivateKey> key = PrivateKey::FromSeed("log.example", Ed25519Seed{1});
  TestDb db = NewDb("concurrent");
  const std::string& path = db.db();
  constexpr int kThreads = 16, kPerThread = 40;
  std::vector<std::pair<uint64_t, std::string>> appended;  // (index, leaf)
  std::vector<std::string> checkpoints;
  std::mutex mu;
  {
    auto log = ReceiptLog::Open(path, *key);
    ASSERT_TRUE(log.ok());
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
      threads.emplace_back([&, t] {
        for (int i = 0; i < kPerThread; ++i) {
          std::string leaf;
          Result<AppendedLeaves> a = (*log)->Append(1 + (i % 3 == 0), [&](uint64_t index) {
            return leaf = "thread " + std::to_string(t) + " leaf " + std::to_string(index);
          });
          ASSERT_TRUE(a.ok()) << a.status().ToString();
          std::lock_guard<std::mutex> lk(mu);
          appended.emplace_back(a->first_index + (i % 3 == 0), leaf);
          checkpoints.push_back(a->checkpoint);
        }
      });
    for (auto& th : threads) th.join();
  }
  auto log = ReceiptLog::Open(path, *key);
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  const uint64_t n = (*log)->size();
  EXPECT_EQ(n, static_cast<uint64_t>(kThreads * (kPerThread + (kPerThread + 2) / 3)));
  Checkpoint head = OpenCheckpoint((*log)->LatestCheckpoint(), *key);
  EXPECT_EQ(head.size, n);
  for (const auto& [index, leaf] : appended) {
    EXPECT_EQ(*(*log)->Leaf(index), leaf);
    Result<InclusionProof> proof = (*log)->ProveInclusion(index, n);
    ASSERT_TRUE(proof.ok());
    const Hash lh = LeafHash(AsBytes(leaf));
    EXPECT_TRUE(VerifyInclusion(index, n, lh, *proof, head.root).ok());
    if (!proof->empty()) {
      InclusionProof bad = *proof;
      bad[index % bad.size()][7] ^= 0x20;
      EXPECT_EQ(VerifyInclusion(index, n, lh, bad, head.root).code(), Status::Code::kMismatch);
    }
    EXPECT_FALSE(VerifyInclusion(index, n, LeafHash(AsBytes(leaf + "!")), *proof, head.root).ok());
  }
  for (const std::string& note : checkpoints) {
    Checkpoint cp = OpenCheckpoint(note, *key);
    Result<ConsistencyProof> proof = (*log)->ProveConsistency(cp.size, n);
    ASSERT_TRUE(proof.ok());
    EXPECT_TRUE(VerifyConsistency(cp.size, n, cp.root, head.root, *proof).ok()) << cp.size;
    if (!proof->empty()) {
      ConsistencyProof bad = *proof;
      bad.back()[0] ^= 1;
      EXPECT_FALSE(VerifyConsistency(cp.size, n, cp.root, head.root, bad).ok());
    }
  }
}

TEST_P(ReceiptLogTest, RefusesAnotherKeyAndInconsistentTables) {
  Result<PrivateKey> key = PrivateKey::FromSeed("log.example", Ed25519Seed{2});
  Result<PrivateKey> other = PrivateKey::FromSeed("other.example", Ed25519Seed{2});
  Result<PrivateKey> same_name = PrivateKey::FromSeed("log.example", Ed25519Seed{3});
  TestDb db = NewDb("refuse");
  const std::string& path = db.db();
  {
    auto log = ReceiptLog::Open(path, *key);
    ASSERT_TRUE(log.ok());
    ASSERT_TRUE((*log)->Append(10, [](uint64_t i) { return std::to_string(i); }).ok());
  }
  EXPECT_EQ(ReceiptLog::Open(path, *other).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(ReceiptLog::Open(path, *same_name).status().code(), Status::Code::kCorruption);
  ASSERT_TRUE(db.Exec("DELETE FROM hashes WHERE idx = (SELECT max(idx) FROM hashes)").ok());
  Result<std::unique_ptr<ReceiptLog>> broken = ReceiptLog::Open(path, *key);
  EXPECT_EQ(broken.status().code(), Status::Code::kCorruption);
  EXPECT_NE(broken.status().message().find("stored hashes"), std::string::npos) << broken.status().ToString();
}

// A database that is not an aftune receipt log of this format, or whose
// tables were changed, is refused naming what is wrong; nothing is created
// in a foreign one.
TEST_P(ReceiptLogTest, RefusesForeignAndChangedDatabases) {
  Result<PrivateKey> key = PrivateKey::FromSeed("log.example", Ed25519Seed{4});
  auto refusal = [&](const TestDb& db) {
    Result<std::unique_ptr<ReceiptLog>> log = ReceiptLog::Open(db.db(), *key);
    EXPECT_EQ(log.status().code(), Status::Code::kCorruption) << log.status().ToString();
    return log.status().message();
  };
  auto with_log = [&](const std::string& tag, const std::string& change) {
    TestDb db = NewDb(tag);
    EXPECT_TRUE(ReceiptLog::Open(db.db(), *key).ok());
    if (!change.empty()) {
      EXPECT_TRUE(db.Exec(change).ok()) << change;
    }
    return db;
  };
  {
    TestDb foreign = NewDb("foreign");
    ASSERT_TRUE(foreign.Exec("CREATE TABLE accounts(id integer PRIMARY KEY, owner text)").ok());
    EXPECT_NE(refusal(foreign).find("not an aftune receipt log: it holds other tables (accounts)"), std::string::npos);
    ASSERT_TRUE(foreign.Exec("SELECT count(*) FROM accounts").ok());
    EXPECT_FALSE(foreign.Exec("SELECT count(*) FROM leaves").ok());  // nothing was created
  }
  EXPECT_NE(refusal(with_log("missing", "DROP TABLE hashes")).find("table 'hashes' is missing"), std::string::npos);
  EXPECT_NE(refusal(with_log("format", "UPDATE meta SET value = 'aftune receipt log v0' WHERE key = 'format'"))
                .find("not an aftune receipt log (format 'aftune receipt log v0', expected 'aftune receipt log v1')"),
            std::string::npos);
  EXPECT_NE(refusal(with_log("noformat", "DELETE FROM meta WHERE key = 'format'")).find("no 'format' entry"),
            std::string::npos);
  EXPECT_NE(refusal(with_log("changed", "DROP TABLE leaves; CREATE TABLE leaves(idx integer PRIMARY KEY, data text)"))
                .find("table 'leaves' has columns (idx integer primary key, data text), expected"),
            std::string::npos);
  {
    TestDb gap = with_log("gap", "");
    {
      auto log = ReceiptLog::Open(gap.db(), *key);
      ASSERT_TRUE(log.ok());
      ASSERT_TRUE((*log)->Append(10, [](uint64_t i) { return std::to_string(i); }).ok());
    }
    ASSERT_TRUE(gap.Exec("DELETE FROM leaves WHERE idx = 3").ok());
    EXPECT_NE(refusal(gap).find("1 of the leaves below index 10 are missing"), std::string::npos);
  }
  TestDb fresh = with_log("fresh", "");
  EXPECT_TRUE(ReceiptLog::Open(fresh.db(), *key).ok());  // a log's own tables pass
}

INSTANTIATE_TEST_SUITE_P(Backends, ReceiptLogTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         [](const ::testing::TestParamInfo<Backend>& p) { return BackendName(p.param); });


// Replicas of the log on one PostgreSQL database, in one process: each
// ReceiptLog has its own connections, as each `aftune serve` process has
// (src/cli/serve_cli_test.cc drives real processes), sharing one log.

PrivateKey LogKey() { return std::move(PrivateKey::FromSeed("log.example", Ed25519Seed{9})).value(); }

std::unique_ptr<ReceiptLog> MustOpen(const std::string& db, const PrivateKey& key) {
  Result<std::unique_ptr<ReceiptLog>> log = ReceiptLog::Open(db, key);
  EXPECT_TRUE(log.ok()) << log.status().ToString();
  return log.ok() ? std::move(*log) : nullptr;
}

// Two replicas, 8 appending threads each: every acknowledged leaf is in the
// one log at its index, with no gap and no index handed out twice; each
// replica sees the other's appends; every checkpoint either served is
// consistent with every later one, proven by either replica.
TEST(PostgresReplicas, ShareOneSequenceAndOneTree) {
  testing::PgTestDatabase db("share");
  ASSERT_FALSE(db.uri().empty());
  const PrivateKey key = LogKey();
  std::unique_ptr<ReceiptLog> replicas[2] = {MustOpen(db.uri(), key), MustOpen(db.uri(), key)};
  ASSERT_TRUE(replicas[0] && replicas[1]);
  std::mutex mu;
  std::map<uint64_t, std::string> leaves;  // index → leaf, as acknowledged
  std::map<uint64_t, std::string> checkpoints;  // size → checkpoint note, as served
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t)
    threads.emplace_back([&, t] {
      ReceiptLog& log = *replicas[t % 2];
      for (int i = 0; i < 25; ++i) {
        const uint64_t count = 1 + (i % 4 == 0);
        std::vector<std::string> built;
        Result<AppendedLeaves> a = log.Append(count, [&](uint64_t index) {
          built.push_back("replica " + std::to_string(t % 2) + " thread " + std::to_string(t) + " leaf " +
                          std::to_string(index));
          return built.back();
        });
        ASSERT_TRUE(a.ok()) << a.status().ToString();
        ASSERT_EQ(built.size(), count);
        std::lock_guard<std::mutex> lk(mu);
        for (uint64_t k = 0; k < count; ++k)
          EXPECT_TRUE(leaves.emplace(a->first_index + k, built[k]).second) << "index " << a->first_index + k;
        checkpoints.emplace(OpenCheckpoint(a->checkpoint, key).size, a->checkpoint);
        const std::string seen = replicas[(t + 1) % 2]->LatestCheckpoint();  // the other replica's head
        checkpoints.emplace(OpenCheckpoint(seen, key).size, seen);
      }
    });
  for (auto& th : threads) th.join();

  const uint64_t n = leaves.size();
  ASSERT_EQ(n, 16u * (25 + 7));
  EXPECT_EQ(leaves.rbegin()->first, n - 1);  // indexes 0..n-1, each once
  const std::string head_note = replicas[0]->LatestCheckpoint();
  EXPECT_EQ(replicas[1]->LatestCheckpoint(), head_note);
  EXPECT_EQ(replicas[1]->size(), n);
  const Checkpoint head = OpenCheckpoint(head_note, key);
  ASSERT_EQ(head.size, n);
  for (const auto& [index, leaf] : leaves) {
    ReceiptLog& asked = *replicas[index % 2];
    EXPECT_EQ(*asked.Leaf(index), leaf);
    Result<InclusionProof> proof = asked.ProveInclusion(index, n);
    ASSERT_TRUE(proof.ok());
    EXPECT_TRUE(VerifyInclusion(index, n, LeafHash(AsBytes(leaf)), *proof, head.root).ok()) << index;
  }
  // Each served checkpoint against the next and against the head (so, by
  // transitivity, every pair), each proof asked of one replica or the other.
  checkpoints.emplace(n, head_note);
  for (auto it = checkpoints.begin(); std::next(it) != checkpoints.end(); ++it) {
    const Checkpoint a = OpenCheckpoint(it->second, key);
    EXPECT_EQ(a.root, *replicas[0]->Root(a.size)) << "checkpoint " << a.size << " is not of the one tree";
    for (const Checkpoint& b : {OpenCheckpoint(std::next(it)->second, key), head}) {
      Result<ConsistencyProof> proof = replicas[(a.size + b.size) % 2]->ProveConsistency(a.size, b.size);
      ASSERT_TRUE(proof.ok());
      EXPECT_TRUE(VerifyConsistency(a.size, b.size, a.root, b.root, *proof).ok()) << a.size << " -> " << b.size;
    }
  }
}

// Replicas started at once on an empty database create one log between
// them (one genesis), and see each other's appends at once.
TEST(PostgresReplicas, StartTogetherOnAnEmptyDatabase) {
  testing::PgTestDatabase db("together");
  ASSERT_FALSE(db.uri().empty());
  const PrivateKey key = LogKey();
  std::unique_ptr<ReceiptLog> replicas[4];
  std::vector<std::thread> threads;
  for (auto& r : replicas) threads.emplace_back([&] { r = MustOpen(db.uri(), key); });
  for (auto& th : threads) th.join();
  for (const auto& r : replicas) ASSERT_TRUE(r);
  for (int i = 0; i < 4; ++i) {
    Result<AppendedLeaves> a = replicas[i]->Append(1, [&](uint64_t index) { return "leaf " + std::to_string(index); });
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    EXPECT_EQ(a->first_index, static_cast<uint64_t>(i));
    for (const auto& r : replicas) {
      EXPECT_EQ(r->size(), static_cast<uint64_t>(i + 1));
      EXPECT_EQ(r->LatestCheckpoint(), a->checkpoint);
    }
  }
  EXPECT_TRUE(db.Exec("DO $$ BEGIN IF (SELECT count(*) FROM meta) <> 3 THEN RAISE 'genesis twice'; END IF; END $$").ok());
}

// A replica whose sessions the server ended (a restart, an administrator)
// reconnects: the next append and the next read succeed.
TEST(PostgresReplicas, ReconnectsAfterTheServerEndsItsSessions) {
  testing::PgTestDatabase db("reconnect");
  ASSERT_FALSE(db.uri().empty());
  const PrivateKey key = LogKey();
  std::unique_ptr<ReceiptLog> log = MustOpen(db.uri(), key);
  ASSERT_TRUE(log);
  ASSERT_TRUE(log->Append(2, [](uint64_t i) { return "before " + std::to_string(i); }).ok());
  ASSERT_TRUE(db.Exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                      "WHERE datname = current_database() AND pid <> pg_backend_pid()")
                  .ok());
  Result<AppendedLeaves> a = log->Append(1, [](uint64_t i) { return "after " + std::to_string(i); });
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->first_index, 2u);
  EXPECT_EQ(log->size(), 3u);
  EXPECT_EQ(*log->Leaf(2), "after 2");
}

// A transaction that fails leaves the log as it was: its appends are
// refused, and the next transaction appends where the log ends.
TEST(PostgresReplicas, AFailedTransactionLeavesNoGap) {
  testing::PgTestDatabase db("failed");
  ASSERT_FALSE(db.uri().empty());
  const PrivateKey key = LogKey();
  std::unique_ptr<ReceiptLog> log = MustOpen(db.uri(), key);
  ASSERT_TRUE(log);
  ASSERT_TRUE(log->Append(3, [](uint64_t i) { return "leaf " + std::to_string(i); }).ok());
  // Leaves over 1 KB now violate a constraint: the transaction's INSERT fails.
  ASSERT_TRUE(db.Exec("ALTER TABLE leaves ADD CONSTRAINT small CHECK (octet_length(data) < 1000)").ok());
  Result<AppendedLeaves> refused = log->Append(1, [](uint64_t) { return std::string(2000, 'x'); });
  EXPECT_EQ(refused.status().code(), Status::Code::kIOError);
  EXPECT_NE(refused.status().message().find("small"), std::string::npos) << refused.status().ToString();
  Result<AppendedLeaves> next = log->Append(1, [](uint64_t i) { return "leaf " + std::to_string(i); });
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_EQ(next->first_index, 3u);
  EXPECT_EQ(OpenCheckpoint(next->checkpoint, key).root, *log->Root(4));
  log.reset();
  EXPECT_TRUE(MustOpen(db.uri(), key));  // consistent tables
}

// A log in a schema of its own (options=-csearch_path=…) shares a database
// with other tables, which it neither checks nor touches.
TEST(PostgresReplicas, LiveInASchemaOfTheirOwn) {
  testing::PgTestDatabase db("schema");
  ASSERT_FALSE(db.uri().empty());
  ASSERT_TRUE(db.Exec("CREATE TABLE accounts(id integer); CREATE SCHEMA receipts").ok());
  const PrivateKey key = LogKey();
  EXPECT_EQ(ReceiptLog::Open(db.uri(), key).status().code(), Status::Code::kCorruption);  // public: foreign
  const std::string uri = db.uri() + "&options=-csearch_path%3Dreceipts";
  std::unique_ptr<ReceiptLog> a = MustOpen(uri, key), b = MustOpen(uri, key);
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->Append(2, [](uint64_t i) { return "leaf " + std::to_string(i); }).ok());
  EXPECT_EQ(b->size(), 2u);
  EXPECT_TRUE(db.Exec("DO $$ BEGIN IF (SELECT count(*) FROM receipts.leaves) <> 2 THEN RAISE 'not there'; END IF; "
                      "END $$")
                  .ok());
}

}  // namespace
}  // namespace aftune
