#include "serve/receipt_log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "commit/checkpoint.h"
#include "commit/note.h"
#include "commit/test_vectors.h"
#include "serve/sqlite.h"

namespace aftune {
namespace {

using testing::H;
using testing::Hashes;

std::string TempDb(const std::string& tag) {
  std::string dir = (std::filesystem::temp_directory_path() /
                     ("aftune-log-" + tag + "-" + std::to_string(::getpid())))
                        .string();
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir + "/log.db";
}

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

TEST(ReceiptLog, ReproducesTheVectorLog) {
  nlohmann::json v = testing::LoadVectors("receipt.json");
  PrivateKey key = VectorKey(v);
  auto log = ReceiptLog::Open(TempDb("vector"), key);
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

TEST(ReceiptLog, OutOfRangeRequestsAreErrors) {
  Result<PrivateKey> key = PrivateKey::FromSeed("log.example", Ed25519Seed{});
  auto log = ReceiptLog::Open(TempDb("range"), *key);
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
TEST(ReceiptLog, ConcurrentAppendsProveAndSurviveReopen) {
  Result<PrivateKey> key = PrivateKey::FromSeed("log.example", Ed25519Seed{1});
  const std::string path = TempDb("concurrent");
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

TEST(ReceiptLog, RefusesAnotherKeyAndInconsistentTables) {
  Result<PrivateKey> key = PrivateKey::FromSeed("log.example", Ed25519Seed{2});
  Result<PrivateKey> other = PrivateKey::FromSeed("other.example", Ed25519Seed{2});
  Result<PrivateKey> same_name = PrivateKey::FromSeed("log.example", Ed25519Seed{3});
  const std::string path = TempDb("refuse");
  {
    auto log = ReceiptLog::Open(path, *key);
    ASSERT_TRUE(log.ok());
    ASSERT_TRUE((*log)->Append(10, [](uint64_t i) { return std::to_string(i); }).ok());
  }
  EXPECT_EQ(ReceiptLog::Open(path, *other).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(ReceiptLog::Open(path, *same_name).status().code(), Status::Code::kCorruption);
  {
    Result<Sqlite> db = Sqlite::Open(path);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(db->Exec("DELETE FROM hashes WHERE idx = (SELECT max(idx) FROM hashes)").ok());
  }
  Result<std::unique_ptr<ReceiptLog>> broken = ReceiptLog::Open(path, *key);
  EXPECT_EQ(broken.status().code(), Status::Code::kCorruption);
  EXPECT_NE(broken.status().message().find("stored hashes"), std::string::npos) << broken.status().ToString();
}

}  // namespace
}  // namespace aftune
