// Replicas of the receipt log on one PostgreSQL database, in one process:
// each ReceiptLog has its own connections, as each `aftune serve` process
// has (src/cli/serve_cli_test.cc drives real processes).
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <thread>

#include "commit/checkpoint.h"
#include "commit/encoding.h"
#include "commit/note.h"
#include "serve/pg_test_util.h"
#include "serve/receipt_log.h"

namespace aftune {
namespace {

PrivateKey LogKey() { return std::move(PrivateKey::FromSeed("log.example", Ed25519Seed{9})).value(); }

Checkpoint Open(const std::string& note, const PrivateKey& key) {
  PublicKey known[] = {key.public_key()};
  Result<Note> n = OpenNote(note, known);
  EXPECT_TRUE(n.ok()) << n.status().ToString();
  if (!n.ok()) return {};
  Result<Checkpoint> cp = ParseCheckpoint(n->text);
  EXPECT_TRUE(cp.ok());
  return cp.ok() ? *cp : Checkpoint{};
}

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
        checkpoints.emplace(Open(a->checkpoint, key).size, a->checkpoint);
        const std::string seen = replicas[(t + 1) % 2]->LatestCheckpoint();  // the other replica's head
        checkpoints.emplace(Open(seen, key).size, seen);
      }
    });
  for (auto& th : threads) th.join();

  const uint64_t n = leaves.size();
  ASSERT_EQ(n, 16u * (25 + 7));
  EXPECT_EQ(leaves.rbegin()->first, n - 1);  // indexes 0..n-1, each once
  const std::string head_note = replicas[0]->LatestCheckpoint();
  EXPECT_EQ(replicas[1]->LatestCheckpoint(), head_note);
  EXPECT_EQ(replicas[1]->size(), n);
  const Checkpoint head = Open(head_note, key);
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
    const Checkpoint a = Open(it->second, key);
    EXPECT_EQ(a.root, *replicas[0]->Root(a.size)) << "checkpoint " << a.size << " is not of the one tree";
    for (const Checkpoint& b : {Open(std::next(it)->second, key), head}) {
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
  EXPECT_EQ(Open(next->checkpoint, key).root, *log->Root(4));
  log.reset();
  EXPECT_TRUE(MustOpen(db.uri(), key));  // consistent tables
}

}  // namespace
}  // namespace aftune
