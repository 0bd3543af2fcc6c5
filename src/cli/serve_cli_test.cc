// aftune serve and aftune client as processes: the whole flow, kill -9 of
// the server under load, a load test, and serving replicas on one
// PostgreSQL log. Clients in this file are threads using
// client/serve_client.h, as an auditor would.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <cstdlib>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli/cli_test_util.h"
#include "commit/checkpoint.h"
#include "commit/encoding.h"
#include "commit/note.h"
#include "client/serve_client.h"
#include "protocol/receipt_bundle.h"
#include "protocol/commitment.h"
#include "serve/pg_test_util.h"
#include "serve/postgres.h"

namespace aftune {
namespace {

using Json = nlohmann::json;
using testing::RunAftune;

// `aftune serve ... --port 0` in the background.
struct ServerProcess : testing::ServerProcess {
  explicit ServerProcess(const std::string& args) : testing::ServerProcess("serve " + args) {}
};

class ServeCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = testing::TestDir("serve");
    ASSERT_EQ(RunAftune("model init --preset tiny --seed 3 --out " + dir_ + "/tiny").exit_code, 0);
    ASSERT_EQ(RunAftune("keygen --name provider.example --out " + dir_ + "/provider").exit_code, 0);
  }
  // `db`: a file name in the test's directory, or a PostgreSQL URI.
  static std::string ServeArgs(const std::string& db) {
    const std::string db_arg = IsPostgresUri(db) ? "'" + db + "'" : dir_ + "/" + db;
    return "--model " + dir_ + "/tiny --key " + dir_ + "/provider.key --db " + db_arg + " --threads 1";
  }
  static PublicKey ProviderKey() {
    Result<PublicKey> k = ReadPublicKeyFile(dir_ + "/provider.pub");
    EXPECT_TRUE(k.ok());
    return k.ok() ? *k : PublicKey{};
  }
  static Checkpoint OpenCheckpoint(const std::string& note) {
    PublicKey known[] = {ProviderKey()};
    Result<Note> n = OpenNote(note, known);
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    return n.ok() ? *ParseCheckpoint(n->text) : Checkpoint{};
  }
  static std::string dir_;
};
std::string ServeCli::dir_;

// What load clients saw: every bundle received and every checkpoint.
struct Seen {
  std::mutex mu;
  std::vector<ReceiptBundle> bundles;
  int errors = 0;
  std::string last_error;
};

// `clients` threads send completions and chat completions until `stop`
// (or until a request fails, when `stop_on_error`).
void RunLoad(const std::string& url, int clients, std::atomic<bool>& stop, Seen& seen, bool stop_on_error) {
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c)
    threads.emplace_back([&, c] {
      auto client = ServeClient::Create(url).value();
      for (int i = 0; !stop.load(); ++i) {
        Json req = {{"model", "tiny"}, {"max_tokens", 1 + (c + i) % 6}, {"seed", c * 1000 + i},
                    {"temperature", (c % 3) * 0.5}};
        Result<Json> reply = Json();
        if (i % 4 == 3) {
          req["messages"] = {{{"role", "user"}, {"content", "client " + std::to_string(c)}}};
          reply = client->ChatComplete(req);
        } else {
          req["prompt"] = std::to_string(c) + "+" + std::to_string(i) + "=";
          reply = client->Complete(req);
        }
        std::lock_guard<std::mutex> lk(seen.mu);
        if (!reply.ok()) {
          ++seen.errors;
          seen.last_error = reply.status().ToString();
          if (stop_on_error) return;
          continue;
        }
        Result<ReceiptBundle> b = ReceiptBundleFromJson((*reply)["aftune_receipt"]);
        EXPECT_TRUE(b.ok()) << b.status().ToString();
        if (b.ok()) seen.bundles.push_back(*b);
      }
    });
  for (auto& t : threads) t.join();
}

// Every received receipt is in the log at its index and proven against the
// current head; every checkpoint a client saw is consistent with it.
void ExpectAllLogged(ServeClient& client, const std::vector<ReceiptBundle>& bundles, const PublicKey& key) {
  Result<std::string> head_note = client.LatestCheckpoint();
  ASSERT_TRUE(head_note.ok());
  PublicKey known[] = {key};
  Result<Note> opened = OpenNote(*head_note, known);
  ASSERT_TRUE(opened.ok());
  Checkpoint head = *ParseCheckpoint(opened->text);
  std::set<uint64_t> indexes;
  std::set<uint64_t> checked_sizes;
  for (const ReceiptBundle& b : bundles) {
    ASSERT_TRUE(CheckReceiptBundle(b).ok());
    ASSERT_TRUE(VerifyReceipt(b.receipt, key).ok());
    EXPECT_TRUE(indexes.insert(b.log_index).second) << "index " << b.log_index << " handed out twice";
    ASSERT_LT(b.log_index, head.size);
    EXPECT_EQ(*client.ReceiptAt(b.log_index), b.receipt) << "receipt " << b.log_index << " lost";
    Result<InclusionProof> proof = client.ProveInclusion(b.log_index, head.size);
    ASSERT_TRUE(proof.ok());
    EXPECT_TRUE(VerifyInclusion(b.log_index, head.size, LeafHash(AsBytes(b.receipt)), *proof, head.root).ok());
    Result<Note> cp_note = OpenNote(b.checkpoint, known);
    ASSERT_TRUE(cp_note.ok());
    Checkpoint cp = *ParseCheckpoint(cp_note->text);
    if (!checked_sizes.insert(cp.size).second) continue;
    Result<ConsistencyProof> cons = client.ProveConsistency(cp.size, head.size);
    ASSERT_TRUE(cons.ok());
    EXPECT_TRUE(VerifyConsistency(cp.size, head.size, cp.root, head.root, *cons).ok()) << "checkpoint " << cp.size;
  }
}

TEST_F(ServeCli, ClientCompleteAppendsVerifiableReceipts) {
  ServerProcess server(ServeArgs("flow.db"));
  const std::string receipts = dir_ + "/receipts.jsonl";
  for (const char* prompt : {"3+4=", "hello"}) {
    testing::CommandResult r = RunAftune("client complete --server " + server.url() + " --prompt '" + prompt +
                                         "' --max-tokens 4 --temperature 0.5 --seed 9 --receipts " + receipts);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("appended to"), std::string::npos) << r.output;
  }
  testing::CommandResult bad = RunAftune("client complete --server " + server.url() +
                                         " --prompt x --max-tokens 0 --receipts " + receipts);
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.output.find("max_tokens"), std::string::npos) << bad.output;

  std::istringstream lines(testing::ReadBytes(receipts));
  std::vector<ReceiptBundle> bundles;
  for (std::string line; std::getline(lines, line);) {
    Json j = Json::parse(line);
    EXPECT_EQ(j["server"], server.url());
    Result<ReceiptBundle> b = ReceiptBundleFromJson(j, {"server"});
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    EXPECT_EQ(b->request.generation.sampling.seed, 9u);
    bundles.push_back(*b);
  }
  ASSERT_EQ(bundles.size(), 2u);
  ExpectAllLogged(*ServeClient::Create(server.url()).value(), bundles, ProviderKey());
  EXPECT_EQ(server.Signal(SIGTERM), 0);
}

// aftune audit infer over the receipts file aftune client wrote: exit 0 for
// honest receipts, 3 for an edited file or another key (naming the check),
// 1 when it cannot audit, 2 for usage errors.
TEST_F(ServeCli, AuditInferChecksTheReceiptsFile) {
  ServerProcess server(ServeArgs("audit.db"));
  const std::string receipts = dir_ + "/audit-receipts.jsonl";
  for (const char* prompt : {"1+1=", "2+2=", "hello"}) {
    testing::CommandResult r = RunAftune("client complete --server " + server.url() + " --prompt '" + prompt +
                                         "' --max-tokens 5 --temperature 0.7 --seed 3 --receipts " + receipts);
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  auto audit = [&](const std::string& file, const std::string& pub, const std::string& extra) {
    return RunAftune("audit infer --model " + dir_ + "/tiny --pub " + pub + " --receipts " + file + " --server " +
                     server.url() + " --samples 2 --nonce 0a0b" + extra);
  };
  const std::string pub = dir_ + "/provider.pub";
  testing::CommandResult pass = audit(receipts, pub, " --report " + dir_ + "/infer.json --html " + dir_ + "/infer.html");
  EXPECT_EQ(pass.exit_code, 0) << pass.output;
  EXPECT_NE(pass.output.find("inference audit: PASS"), std::string::npos) << pass.output;
  const Json report = Json::parse(testing::ReadBytes(dir_ + "/infer.json"));
  EXPECT_EQ(report["verdict"], "pass");
  EXPECT_EQ(report["nonce"], "0a0b");
  EXPECT_EQ(report["sampled"].size(), 2u);
  EXPECT_NE(testing::ReadBytes(dir_ + "/infer.html").find("Inference audit"), std::string::npos);

  // One generated token changed in the client's file.
  std::istringstream lines(testing::ReadBytes(receipts));
  std::string first, rest;
  std::getline(lines, first);
  rest.assign(std::istreambuf_iterator<char>(lines), {});
  Json edited = Json::parse(first);
  edited["completion_tokens"][0] = edited["completion_tokens"][0].get<int>() == 65 ? 66 : 65;
  testing::WriteText(dir_ + "/edited.jsonl", edited.dump() + "\n" + rest);
  testing::CommandResult fail = audit(dir_ + "/edited.jsonl", pub, "");
  EXPECT_EQ(fail.exit_code, 3) << fail.output;
  EXPECT_NE(fail.output.find("FAILED receipt.digests"), std::string::npos) << fail.output;

  ASSERT_EQ(RunAftune("keygen --name provider.example --out " + dir_ + "/impostor").exit_code, 0);
  testing::CommandResult other_key = audit(receipts, dir_ + "/impostor.pub", "");
  EXPECT_EQ(other_key.exit_code, 3) << other_key.output;
  EXPECT_NE(other_key.output.find("FAILED receipt.signature"), std::string::npos) << other_key.output;

  EXPECT_EQ(audit(dir_ + "/missing.jsonl", pub, "").exit_code, 1);
  EXPECT_EQ(RunAftune("audit infer --model " + dir_ + "/tiny --pub " + pub + " --receipts " + receipts).exit_code, 2);
  EXPECT_EQ(server.Signal(SIGTERM), 0);
}

// contract → training → served adapter → answer: with --commitment every
// receipt names the commitment note and the adapter it commits to; weights
// other than the committed ones are refused.
TEST_F(ServeCli, ReceiptsNameTheTrainingCommitment) {
  testing::WriteText(dir_ + "/data.jsonl", testing::AdditionJsonl(4, 4));
  testing::CommandResult c = RunAftune("contract create --base " + dir_ + "/tiny --data " + dir_ +
                                       "/data.jsonl --out " + dir_ + "/contract.json --max_steps 2"
                                       " --per_device_train_batch_size 4 --max_seq_length 16");
  ASSERT_EQ(c.exit_code, 0) << c.output;
  testing::CommandResult t = RunAftune("train --contract " + dir_ + "/contract.json --key " + dir_ +
                                       "/provider.key --data " + dir_ + "/data.jsonl --model " + dir_ +
                                       "/tiny --out " + dir_ + "/run");
  ASSERT_EQ(t.exit_code, 0) << t.output;
  const std::string note = testing::ReadBytes(dir_ + "/run/commitment.note");
  Result<TrainingCommitment> commitment = VerifyCommitment(note, ProviderKey());
  ASSERT_TRUE(commitment.ok()) << commitment.status().ToString();

  const std::string with_commitment = " --commitment " + dir_ + "/run/commitment.note";
  {
    ServerProcess server(ServeArgs("chain.db") + " --adapter " + dir_ + "/run/adapter" + with_commitment);
    auto client = ServeClient::Create(server.url()).value();
    Result<Json> reply = client->Complete({{"model", "tiny"}, {"prompt", "1+2="}, {"max_tokens", 2}});
    ASSERT_TRUE(reply.ok()) << reply.status().ToString();
    Result<ReceiptBundle> b = ReceiptBundleFromJson((*reply)["aftune_receipt"]);
    ASSERT_TRUE(b.ok());
    Result<Receipt> receipt = VerifyReceipt(b->receipt, ProviderKey());
    ASSERT_TRUE(receipt.ok());
    ASSERT_TRUE(receipt->commitment.has_value() && receipt->adapter.has_value());
    EXPECT_EQ(*receipt->commitment, Sha256Of(note));
    EXPECT_EQ(*receipt->adapter, commitment->weights);

    // The inference audit follows the chain given the commitment.
    Json line = ReceiptBundleToJson(*b);
    line["server"] = server.url();
    testing::WriteText(dir_ + "/chain.jsonl", line.dump() + "\n");
    const std::string audit = "audit infer --model " + dir_ + "/tiny --adapter " + dir_ + "/run/adapter --pub " +
                              dir_ + "/provider.pub --receipts " + dir_ + "/chain.jsonl --server " + server.url() +
                              " --samples 1";
    testing::CommandResult chained = RunAftune(audit + with_commitment);
    EXPECT_EQ(chained.exit_code, 0) << chained.output;
    testing::CommandResult unchained = RunAftune(audit);
    EXPECT_EQ(unchained.exit_code, 1) << unchained.output;
    EXPECT_NE(unchained.output.find("--commitment"), std::string::npos) << unchained.output;
  }
  testing::CommandResult base_only = RunAftune("serve " + ServeArgs("chain2.db") + with_commitment + " --port 0");
  EXPECT_EQ(base_only.exit_code, 1);
  EXPECT_NE(base_only.output.find("is not the served model's"), std::string::npos) << base_only.output;
}

TEST_F(ServeCli, RefusesABadKeyOrPort) {
  testing::CommandResult r = RunAftune("serve " + ServeArgs("other.db") + " --port 70000");
  EXPECT_NE(r.exit_code, 0);
  r = RunAftune("serve --model " + dir_ + "/tiny --key " + dir_ + "/provider.pub --db " + dir_ + "/x.db --port 0");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("provider.pub"), std::string::npos) << r.output;
}

// The server is killed with SIGKILL at random moments while 32 clients send
// requests; after each restart every receipt a client received is in the
// log and every checkpoint a client saw is consistent with the new head.
TEST_F(ServeCli, KillNineLosesNoAcknowledgedReceipt) {
  std::mt19937 rng(7);
  std::vector<ReceiptBundle> received;
  for (int round = 0; round < 3; ++round) {
    ServerProcess server(ServeArgs("kill.db"));
    {
      auto client = ServeClient::Create(server.url()).value();
      ExpectAllLogged(*client, received, ProviderKey());
    }
    Seen seen;
    std::atomic<bool> stop{false};
    std::thread load([&] { RunLoad(server.url(), 32, stop, seen, /*stop_on_error=*/true); });
    std::this_thread::sleep_for(std::chrono::milliseconds(300 + rng() % 1200));
    EXPECT_EQ(server.Signal(SIGKILL), -1);
    stop = true;
    load.join();
    EXPECT_GT(seen.bundles.size(), 0u) << "round " << round;
    received.insert(received.end(), seen.bundles.begin(), seen.bundles.end());
  }
  ServerProcess server(ServeArgs("kill.db"));
  ExpectAllLogged(*ServeClient::Create(server.url()).value(), received, ProviderKey());
}

// 32 concurrent clients for AFTUNE_LOAD_SECONDS (default 3) seconds; every
// served request's receipt ends up in the log and the log is consistent.
// scripts/load_test.sh runs the long form.
TEST_F(ServeCli, LoadTest) {
  const char* env = std::getenv("AFTUNE_LOAD_SECONDS");
  const int seconds = env ? std::atoi(env) : 3;
  ServerProcess server(ServeArgs("load.db"));
  Seen seen;
  std::atomic<bool> stop{false};
  std::thread load([&] { RunLoad(server.url(), 32, stop, seen, /*stop_on_error=*/false); });
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  stop = true;
  load.join();
  EXPECT_EQ(seen.errors, 0) << seen.last_error;
  std::printf("load test: %zu requests in %d s from 32 clients\n", seen.bundles.size(), seconds);
  auto client = ServeClient::Create(server.url()).value();
  ExpectAllLogged(*client, seen.bundles, ProviderKey());
  Result<std::string> head = client->LatestCheckpoint();
  EXPECT_EQ(OpenCheckpoint(*head).size, seen.bundles.size());
  EXPECT_EQ(server.Signal(SIGTERM), 0);
}

// Serving replicas on one PostgreSQL log (docs/scaling.md, "Serving
// replicas"): `aftune serve` processes started with the same key on the
// same --db postgresql://… database.
class PostgresServeCli : public ServeCli {
 protected:
  // Checkpoint notes by size: those handed out with the receipts, and
  // `polled` heads.
  static std::map<uint64_t, std::string> ServedHeads(const std::vector<ReceiptBundle>& bundles,
                                                    const std::vector<std::string>& polled) {
    std::map<uint64_t, std::string> heads;
    for (const ReceiptBundle& b : bundles) heads.emplace(OpenCheckpoint(b.checkpoint).size, b.checkpoint);
    for (const std::string& note : polled) heads.emplace(OpenCheckpoint(note).size, note);
    return heads;
  }

  // Each head against the next (hence, by transitivity, every later one),
  // the proof asked of one replica or the other in turn: one tree.
  static void ExpectOneTree(const std::map<uint64_t, std::string>& heads, ServeClient* replicas[2]) {
    int turn = 0;
    for (auto it = heads.begin(); it != heads.end() && std::next(it) != heads.end(); ++it) {
      const Checkpoint a = OpenCheckpoint(it->second), b = OpenCheckpoint(std::next(it)->second);
      Result<ConsistencyProof> proof = replicas[turn++ % 2]->ProveConsistency(a.size, b.size);
      ASSERT_TRUE(proof.ok()) << proof.status().ToString();
      EXPECT_TRUE(VerifyConsistency(a.size, b.size, a.root, b.root, *proof).ok()) << a.size << " -> " << b.size;
    }
  }
};

// Two replicas under concurrent load: every receipt either acknowledged is
// in the one log (asked of either), both serve the same head, every head
// either served is consistent with the next; an inference audit of
// receipts from both replicas passes asked of either.
TEST_F(PostgresServeCli, TwoReplicasUnderLoadKeepOneLog) {
  testing::PgTestDatabase db("replicas");
  ASSERT_FALSE(db.uri().empty());
  ServerProcess a(ServeArgs(db.uri())), b(ServeArgs(db.uri()));
  ServerProcess* servers[2] = {&a, &b};
  Seen seen[2];
  std::vector<std::string> polled;
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int r = 0; r < 2; ++r)
    threads.emplace_back([&, r] { RunLoad(servers[r]->url(), 6, stop, seen[r], /*stop_on_error=*/false); });
  threads.emplace_back([&] {
    std::vector<std::unique_ptr<ServeClient>> clients;
    for (ServerProcess* s : servers) clients.push_back(ServeClient::Create(s->url()).value());
    while (!stop) {
      for (const auto& c : clients) polled.push_back(c->LatestCheckpoint().value());
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  stop = true;
  for (auto& t : threads) t.join();

  std::vector<ReceiptBundle> all;
  for (int r = 0; r < 2; ++r) {
    EXPECT_EQ(seen[r].errors, 0) << seen[r].last_error;
    EXPECT_GT(seen[r].bundles.size(), 0u) << "replica " << r;
    all.insert(all.end(), seen[r].bundles.begin(), seen[r].bundles.end());
  }
  std::set<uint64_t> indexes;
  for (const ReceiptBundle& bundle : all)
    EXPECT_TRUE(indexes.insert(bundle.log_index).second) << "index " << bundle.log_index << " handed out twice";
  auto client_a = ServeClient::Create(a.url()).value(), client_b = ServeClient::Create(b.url()).value();
  ServeClient* replicas[2] = {client_a.get(), client_b.get()};
  std::vector<ReceiptBundle> asked_of[2];  // every receipt, asked of one replica or the other
  for (size_t i = 0; i < all.size(); ++i) asked_of[i % 2].push_back(all[i]);
  for (int r = 0; r < 2; ++r) ExpectAllLogged(*replicas[r], asked_of[r], ProviderKey());
  const std::string head = *client_a->LatestCheckpoint();
  EXPECT_EQ(*client_b->LatestCheckpoint(), head);
  EXPECT_EQ(OpenCheckpoint(head).size, all.size());  // nothing but the acknowledged receipts
  polled.push_back(head);
  ExpectOneTree(ServedHeads(all, polled), replicas);

  // Three receipts of each replica, audited by asking one replica or the other.
  std::string lines;
  for (int r = 0; r < 2; ++r)
    for (size_t i = 0; i < 3 && i < seen[r].bundles.size(); ++i) {
      Json line = ReceiptBundleToJson(seen[r].bundles[i]);
      line["server"] = servers[r]->url();
      lines += line.dump() + "\n";
    }
  testing::WriteText(dir_ + "/replicas.jsonl", lines);
  for (ServerProcess* asked : servers) {
    testing::CommandResult audit = RunAftune("audit infer --model " + dir_ + "/tiny --pub " + dir_ +
                                             "/provider.pub --receipts " + dir_ + "/replicas.jsonl --server " +
                                             asked->url() + " --samples 4 --nonce 0c0d");
    EXPECT_EQ(audit.exit_code, 0) << audit.output;
    EXPECT_NE(audit.output.find("inference audit: PASS"), std::string::npos) << audit.output;
  }
  EXPECT_EQ(a.Signal(SIGTERM), 0);
  EXPECT_EQ(b.Signal(SIGTERM), 0);
}

// kill -9 of one replica under load: every receipt it acknowledged before
// dying is in the log, the other replica keeps serving without an error,
// and a replica started again on the log serves the same log.
TEST_F(PostgresServeCli, KillNineOfOneReplicaLosesNothingAndTheOtherServesOn) {
  testing::PgTestDatabase db("kill");
  ASSERT_FALSE(db.uri().empty());
  ServerProcess killed(ServeArgs(db.uri())), survivor(ServeArgs(db.uri()));
  Seen of_killed, of_survivor;
  std::atomic<bool> stop_killed{false}, stop{false};
  std::thread load_killed([&] { RunLoad(killed.url(), 6, stop_killed, of_killed, /*stop_on_error=*/true); });
  std::thread load_survivor([&] { RunLoad(survivor.url(), 6, stop, of_survivor, /*stop_on_error=*/false); });
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  EXPECT_EQ(killed.Signal(SIGKILL), -1);
  size_t served_at_kill;
  {
    std::lock_guard<std::mutex> lk(of_survivor.mu);
    served_at_kill = of_survivor.bundles.size();
  }
  stop_killed = true;
  load_killed.join();
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  stop = true;
  load_survivor.join();

  EXPECT_GT(of_killed.bundles.size(), 0u);
  EXPECT_EQ(of_survivor.errors, 0) << of_survivor.last_error;
  EXPECT_GT(of_survivor.bundles.size(), served_at_kill) << "the surviving replica stopped serving";
  std::vector<ReceiptBundle> all = of_killed.bundles;
  all.insert(all.end(), of_survivor.bundles.begin(), of_survivor.bundles.end());
  auto survivor_client = ServeClient::Create(survivor.url()).value();
  ExpectAllLogged(*survivor_client, all, ProviderKey());

  ServerProcess restarted(ServeArgs(db.uri()));
  auto restarted_client = ServeClient::Create(restarted.url()).value();
  std::vector<ReceiptBundle> sample;  // every 8th receipt, asked of the restarted replica too
  for (size_t i = 0; i < all.size(); i += 8) sample.push_back(all[i]);
  ExpectAllLogged(*restarted_client, sample, ProviderKey());
  EXPECT_EQ(*restarted_client->LatestCheckpoint(), *survivor_client->LatestCheckpoint());
  ServeClient* replicas[2] = {survivor_client.get(), restarted_client.get()};
  ExpectOneTree(ServedHeads(all, {}), replicas);
}

// A database that is not this log's is refused at start, naming why.
TEST_F(PostgresServeCli, RefusesAForeignDatabaseOrAnotherOrigin) {
  testing::PgTestDatabase foreign("foreign");
  ASSERT_FALSE(foreign.uri().empty());
  ASSERT_TRUE(foreign.Exec("CREATE TABLE invoices(id integer)").ok());
  testing::CommandResult r = RunAftune("serve " + ServeArgs(foreign.uri()) + " --port 0");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("not an aftune receipt log: it holds other tables (invoices)"), std::string::npos)
      << r.output;

  testing::PgTestDatabase other("origin");
  ASSERT_FALSE(other.uri().empty());
  ASSERT_EQ(RunAftune("keygen --name other.example --out " + dir_ + "/other").exit_code, 0);
  {
    ServerProcess first("--model " + dir_ + "/tiny --key " + dir_ + "/other.key --db '" + other.uri() + "'");
    EXPECT_FALSE(first.url().empty());
  }
  r = RunAftune("serve " + ServeArgs(other.uri()) + " --port 0");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("the log's origin is 'other.example', the signing key is 'provider.example'"),
            std::string::npos)
      << r.output;
}

}  // namespace
}  // namespace aftune
