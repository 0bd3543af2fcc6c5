#include "serve/receipt_log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
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

}  // namespace
}  // namespace aftune
