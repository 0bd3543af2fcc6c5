// The data-parallel step gives the single process's bits (train/trainer.h,
// "Across ranks"): the passes cut into data halves and unit-by-unit weight
// halves (BlockPasses::DataPasses, AccumulateUnit) continue every gradient
// chain exactly as the interleaved passes do, and RankStep over R ranks
// (forked processes here; Open MPI in tests/mpi_train_test.sh)
// delivers the same losses, gradient norms, boundary tensors in the same
// order and the same trained state — for the architectures' features
// (biases, q/k norms, a tied embedding, which two pieces update), LoRA and
// full fine-tuning, one block or one a layer, uneven splits and a rank
// without micro-batches.
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <iterator>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "dist/communicator.h"
#include "model/test_util.h"
#include "model/tokenizer.h"
#include "tensor/thread_pool.h"
#include "train/block_passes.h"
#include "train/rank_exchange.h"
#include "train/trainer.h"

namespace aftune {
namespace {

// Ranks forked from the test process, a socketpair between every two. As
// with MPI_Isend, StartSend never waits: a writer thread per destination
// drains its messages in order (the relay sends in a cycle).
class ForkedRanks : public Communicator {
 public:
  ForkedRanks(int rank, std::vector<int> fds) : rank_(rank), fds_(std::move(fds)), outboxes_(fds_.size()) {}
  ~ForkedRanks() override {
    for (auto& o : outboxes_) {
      if (!o) continue;
      {
        std::lock_guard<std::mutex> lock(o->mu);
        o->stop = true;
      }
      o->cv.notify_all();
      o->writer.join();
    }
    for (int fd : fds_)
      if (fd >= 0) ::close(fd);
  }
  int rank() const override { return rank_; }
  int size() const override { return static_cast<int>(fds_.size()); }
  void Send(int dest, const void* data, size_t bytes) override {
    StartSend(dest, data, bytes);
    Drain(dest);
  }
  void Recv(int source, void* data, size_t bytes) override {
    for (size_t at = 0; at < bytes;) {
      const ssize_t n = ::read(fds_[source], static_cast<char*>(data) + at, bytes - at);
      if (n <= 0) Abort("read failed");
      at += static_cast<size_t>(n);
    }
  }
  void StartSend(int dest, const void* data, size_t bytes) override {
    Outbox& o = OutboxOf(dest);
    {
      std::lock_guard<std::mutex> lock(o.mu);
      o.queue.emplace_back(static_cast<const char*>(data), bytes);
    }
    o.cv.notify_all();
  }
  void WaitSends() override {
    for (int d = 0; d < size(); ++d) Drain(d);
  }
  void Broadcast(int root, void* data, size_t bytes) override {
    if (rank_ != root) return Recv(root, data, bytes);
    for (int r = 0; r < size(); ++r)
      if (r != root) Send(r, data, bytes);
  }
  void Barrier() override {
    char byte = 0;
    Broadcast(0, &byte, 1);
  }
  [[noreturn]] void Abort(const std::string& message) override {
    std::fprintf(stderr, "rank %d: %s\n", rank_, message.c_str());
    ::_exit(3);
  }

  // Forks ranks 1..R-1 off this process (rank 0). Returns this process's
  // communicator; *children: the forked ranks' pids (in rank 0).
  static std::unique_ptr<ForkedRanks> Fork(int ranks, std::vector<pid_t>* children) {
    std::vector<std::vector<int>> fds(ranks, std::vector<int>(ranks, -1));  // fds[a][b]: a's end to b
    for (int a = 0; a < ranks; ++a) {
      for (int b = a + 1; b < ranks; ++b) {
        int pair[2];
        AFTUNE_CHECK(::socketpair(AF_UNIX, SOCK_STREAM, 0, pair) == 0);
        fds[a][b] = pair[0];
        fds[b][a] = pair[1];
      }
    }
    int me = 0;
    for (int r = 1; r < ranks && me == 0; ++r) {
      const pid_t pid = ::fork();
      AFTUNE_CHECK(pid >= 0);
      if (pid == 0) me = r;
      else children->push_back(pid);
    }
    for (int a = 0; a < ranks; ++a)
      for (int fd : fds[a])
        if (a != me && fd >= 0) ::close(fd);
    return std::make_unique<ForkedRanks>(me, fds[me]);
  }

 private:
  struct Outbox {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<std::string> queue;  // the front leaves once written
    bool stop = false;
    std::thread writer;
  };

  Outbox& OutboxOf(int dest) {
    std::unique_ptr<Outbox>& o = outboxes_[dest];
    if (!o) {
      o = std::make_unique<Outbox>();
      o->writer = std::thread([this, dest, box = o.get()] { Write(dest, box); });
    }
    return *o;
  }
  void Write(int dest, Outbox* o) {
    std::unique_lock<std::mutex> lock(o->mu);
    for (;;) {
      o->cv.wait(lock, [o] { return o->stop || !o->queue.empty(); });
      if (o->queue.empty()) return;
      const std::string& m = o->queue.front();
      lock.unlock();
      for (size_t at = 0; at < m.size();) {
        const ssize_t n = ::write(fds_[dest], m.data() + at, m.size() - at);
        if (n <= 0) Abort("write failed");
        at += static_cast<size_t>(n);
      }
      lock.lock();
      o->queue.pop_front();
      o->cv.notify_all();
    }
  }
  void Drain(int dest) {
    if (!outboxes_[dest]) return;
    Outbox& o = *outboxes_[dest];
    std::unique_lock<std::mutex> lock(o.mu);
    o.cv.wait(lock, [&o] { return o.queue.empty(); });
  }

  int rank_;
  std::vector<int> fds_;
  std::vector<std::unique_ptr<Outbox>> outboxes_;
};

// Everything a step shows its observer, in order.
class Recording : public StepObserver {
 public:
  void OnActivation(int64_t step, int64_t micro, int64_t b, const Tensor& x) override {
    seen.push_back({0, step, micro, b, x});
  }
  void OnGradient(int64_t step, int64_t micro, int64_t b, const Tensor& dx) override {
    seen.push_back({1, step, micro, b, dx});
  }
  void OnGradients(int64_t, const TensorMap& g) override { grads.push_back(g); }
  struct Seen {
    int kind;
    int64_t step, micro, boundary;
    Tensor t;
  };
  std::vector<Seen> seen;
  std::vector<TensorMap> grads;
};

// The first difference between two recordings, or "".
std::string Difference(const Recording& a, const Recording& b) {
  if (a.seen.size() != b.seen.size()) return "boundary tensor count";
  for (size_t i = 0; i < a.seen.size(); ++i) {
    const auto &x = a.seen[i], &y = b.seen[i];
    if (x.kind != y.kind || x.step != y.step || x.micro != y.micro || x.boundary != y.boundary || !x.t.BitEqual(y.t))
      return "boundary tensor " + std::to_string(i);
  }
  if (a.grads.size() != b.grads.size()) return "OnGradients count";
  for (size_t s = 0; s < a.grads.size(); ++s)
    for (const auto& [name, g] : a.grads[s])
      if (!g.BitEqual(b.grads[s].at(name))) return "step " + std::to_string(s) + " gradient " + name;
  return "";
}

// Steps run, and where they ended.
struct Outcome {
  std::vector<StepReport> reports;
  TensorMap trainable;
  Recording recording;
};

std::string Difference(const Outcome& a, const Outcome& b) {
  if (a.reports.size() != b.reports.size()) return "step count";
  for (size_t s = 0; s < a.reports.size(); ++s) {
    const StepReport &x = a.reports[s], &y = b.reports[s];
    if (std::memcmp(&x.loss, &y.loss, sizeof x.loss) || std::memcmp(&x.grad_norm, &y.grad_norm, sizeof x.grad_norm) ||
        x.grad_sumsq != y.grad_sumsq)
      return "step " + std::to_string(s) + " loss or gradient norm";
  }
  for (const auto& [name, t] : a.trainable)
    if (!t.BitEqual(b.trainable.at(name))) return "trained tensor " + name;
  return Difference(a.recording, b.recording);
}

std::string Jsonl() {
  std::string s;
  for (int a = 0; a < 7; ++a)
    for (int b = 0; b < 4; ++b)
      s += "{\"prompt\": \"" + std::to_string(a) + "*" + std::to_string(b) + "=\", \"completion\": \"" +
           std::to_string(a * b) + "\"}\n";
  return s;
}

struct Case {
  std::string name;
  ModelConfig model;
  TrainConfig cfg;
};

// Per architecture: LoRA on every projection with one block, and full
// fine-tuning with a block a layer; 5 micro-batches of 2 a step.
std::vector<Case> Cases() {
  std::vector<Case> out;
  for (const testing::ArchCase& arch : testing::ArchitectureCases(3)) {
    for (bool full : {false, true}) {
      TrainConfig cfg;
      cfg.max_steps = 2;
      cfg.per_device_train_batch_size = 2;
      cfg.gradient_accumulation_steps = 5;
      cfg.learning_rate = 1e-2;
      cfg.max_seq_length = 24;
      cfg.full_finetune = full;
      cfg.lora = full ? LoraConfig{} : LoraConfig{4, 8.0, {std::begin(kAllProjs), std::end(kAllProjs)}};
      cfg.layers_per_block = full ? 1 : 0;
      ModelConfig model = arch.cfg;
      model.vocab_size = ByteTokenizer::kVocabSize;
      out.push_back({std::string(arch.name) + (full ? "_full" : "_lora"), model, cfg});
    }
  }
  return out;
}

class RankStepTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SetDefaultThreads(1);  // forked ranks: a pool's workers do not survive fork
    ByteTokenizer tok;
    data_ = ParseJsonlDataset(Jsonl(), "d.jsonl", tok, {24, OverflowPolicy::kReject}).value();
  }
  void TearDown() override { SetDefaultThreads(DefaultThreadCount()); }

  // The case's run, as one rank of comm (null: one process).
  Outcome Train(const Case& c, Communicator* comm) const {
    TensorMap base = InitModel(c.model, 9);
    testing::RandomizeBiasesAndQkNorms(base, 9);
    std::unique_ptr<Trainer> t = Trainer::Create(c.cfg, c.model, std::move(base), &data_).value();
    t->SetCommunicator(comm);
    Outcome run;
    while (t->next_step() < t->total_steps())
      run.reports.push_back(t->RunStep(comm && comm->rank() > 0 ? nullptr : &run.recording).value());
    run.trainable = t->trainable();
    return run;
  }

  Dataset data_;
};

TEST_F(RankStepTest, ForkedRanksGiveTheSingleProcessBits) {
  for (const Case& c : Cases()) {
    const Outcome single = Train(c, nullptr);
    for (int ranks : {2, 3, 6}) {  // 5 micro-batches: uneven; rank 5 has none
      if (ranks == 6 && c.cfg.full_finetune) continue;
      std::vector<pid_t> children;
      std::unique_ptr<ForkedRanks> comm = ForkedRanks::Fork(ranks, &children);
      const Outcome mine = Train(c, comm.get());
      if (comm->rank() > 0) {  // a forked rank: no recording, the rest must match
        Outcome expect = single;
        expect.recording = Recording{};
        const std::string diff = Difference(expect, mine);
        if (!diff.empty()) std::fprintf(stderr, "%s R=%d rank %d: %s\n", c.name.c_str(), ranks, comm->rank(),
                                        diff.c_str());
        ::_exit(diff.empty() ? 0 : 1);
      }
      EXPECT_EQ(Difference(single, mine), "") << c.name << " R=" << ranks;
      for (pid_t pid : children) {
        int status = 0;
        ASSERT_EQ(::waitpid(pid, &status, 0), pid);
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << c.name << " R=" << ranks << ": a rank failed";
      }
    }
  }
}

// One process, the passes cut as ranks cut them: ranges of micro-batches,
// each's data halves first, then its weight halves unit by unit continuing
// the previous range's sums — the interleaved passes' bits.
TEST_F(RankStepTest, SplitPassesContinueTheInterleavedChains) {
  for (const Case& c : Cases()) {
    TensorMap base = InitModel(c.model, 9);
    testing::RandomizeBiasesAndQkNorms(base, 9);
    TensorMap adapter = c.cfg.full_finetune ? TensorMap{} : InitLora(c.model, c.cfg.lora, WholeModel(c.model), 1);
    const TensorMap& trained = c.cfg.full_finetune ? base : adapter;
    std::vector<std::unique_ptr<Decoder>> decoders;
    std::vector<const Decoder*> held;
    std::vector<size_t> indices;
    const std::vector<LayerSpan> spans = LayerBlocks(c.model, c.cfg.layers_per_block);
    for (LayerSpan span : spans) {
      decoders.push_back(Decoder::Create(c.model, c.cfg.lora, span, &base, &adapter).value());
      indices.push_back(held.size());
      held.push_back(decoders.back().get());
    }
    BlockPasses passes(held, indices, spans.size());
    const StepBatch batch = MakeStepBatch(c.cfg, data_, 0);
    ASSERT_EQ(batch.micro.size(), 5u);
    TensorMap whole, split;
    for (const auto& [name, t] : trained) whole[name] = split[name] = Tensor(t.shape());
    Recording whole_seen, split_seen;
    const float loss = passes.ForwardBackward(batch, {}, &whole, &whole_seen);
    float split_loss = 0.0f;
    for (auto [begin, end] : {std::pair<size_t, size_t>{0, 2}, {2, 2}, {2, 3}, {3, 5}}) {
      passes.DataPasses(batch, {}, begin, end, &split_seen);
      split_loss = passes.ContinueLossSum(split_loss);
      for (size_t u = 0; u < passes.num_units(); ++u) passes.AccumulateUnit(u, batch, &split);
    }
    EXPECT_EQ(std::memcmp(&loss, &split_loss, sizeof loss), 0) << c.name;
    for (const auto& [name, g] : whole) EXPECT_TRUE(g.BitEqual(split.at(name))) << c.name << " " << name;
    EXPECT_EQ(Difference(whole_seen, split_seen), "") << c.name;
  }
}

// The units cover every trained tensor once; a tied embedding's lookup
// shares the head's unit.
TEST_F(RankStepTest, UnitsCoverEveryTrainedTensorOnce) {
  for (const Case& c : Cases()) {
    if (!c.cfg.full_finetune) continue;
    TensorMap base = InitModel(c.model, 9);
    std::vector<std::unique_ptr<Decoder>> decoders;
    std::vector<const Decoder*> held;
    std::vector<size_t> indices;
    const std::vector<LayerSpan> spans = LayerBlocks(c.model, 1);
    for (LayerSpan span : spans) {
      decoders.push_back(Decoder::Create(c.model, LoraConfig{}, span, &base).value());
      indices.push_back(held.size());
      held.push_back(decoders.back().get());
    }
    BlockPasses passes(held, indices, spans.size());
    const size_t layers = static_cast<size_t>(c.model.num_hidden_layers);
    EXPECT_EQ(passes.num_units(), layers + (c.model.tie_word_embeddings ? 1 : 2)) << c.name;
    std::map<std::string, int> units_of;
    for (size_t u = 0; u < passes.num_units(); ++u)
      for (const std::string& name : passes.UnitTensors(u, base)) ++units_of[name];
    for (const auto& [name, t] : base) EXPECT_EQ(units_of[name], 1) << c.name << " " << name;
    const std::vector<std::string> head = passes.UnitTensors(0, base);
    const bool has_embedding = std::find(head.begin(), head.end(), EmbeddingName()) != head.end();
    EXPECT_EQ(has_embedding, c.model.tie_word_embeddings) << c.name;
  }
}

}  // namespace
}  // namespace aftune
