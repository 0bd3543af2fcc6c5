// Recording a trace never changes training; the trace is the same for every
// thread count; every record parses and its digests match recomputation,
// those of block states digested while the next step runs included; a
// failure in the background is reported; a run resumed from a checkpoint
// ends with the same trace.
#include "trace/recorder.h"

#include <gtest/gtest.h>

#include <bit>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "base/file.h"
#include "model/model_init.h"
#include "model/safetensors.h"
#include "model/tokenizer.h"
#include "tensor/thread_pool.h"
#include "protocol/trace_layout.h"
#include "trace/store_checkpoint.h"
#include "trace/tensor_store.h"
#include "train/checkpoint.h"
#include "train/grad_clip.h"

namespace aftune {
namespace {

using Json = nlohmann::json;

std::string DemoJsonl() {
  std::string s;
  for (int a = 0; a < 6; ++a)
    for (int b = 0; b < 5; ++b)
      s += "{\"prompt\": \"" + std::to_string(a) + "+" + std::to_string(b) + "=\", \"completion\": \"" +
           std::to_string(a + b) + "\"}\n";
  return s;
}

// Keeps every boundary tensor it is shown, to recompute the digests.
class Keeper : public StepObserver {
 public:
  void OnActivation(int64_t, int64_t m, int64_t b, const Tensor& x) override { acts[{m, b}] = x; }
  void OnGradient(int64_t, int64_t m, int64_t b, const Tensor& dx) override { grads[{m, b}] = dx; }
  std::map<std::pair<int64_t, int64_t>, Tensor> acts, grads;
};

class RecorderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (std::filesystem::temp_directory_path() / ("aftune-recorder-" + std::to_string(::getpid()))).string();
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    model_ = PresetConfig("tiny").value();
    base_ = InitModel(model_, 4);
    cfg_.max_steps = 5;
    cfg_.per_device_train_batch_size = 4;
    cfg_.gradient_accumulation_steps = 2;
    cfg_.learning_rate = 1e-2;
    cfg_.max_seq_length = 32;
    cfg_.layers_per_block = 1;
    cfg_.lora = {4, 8.0, {Proj::kQ, Proj::kV, Proj::kDown}};
    ByteTokenizer tok;
    data_ = ParseJsonlDataset(DemoJsonl(), "demo.jsonl", tok, {32, OverflowPolicy::kReject}).value();
  }
  void TearDown() override {
    SetDefaultThreads(DefaultThreadCount());
    std::filesystem::remove_all(dir_);
  }
  std::unique_ptr<Trainer> Make() { return std::move(Trainer::Create(cfg_, model_, base_, &data_).value()); }

  // Trains to the end recording into `path` (resuming the trainer as it is).
  Hash Record(Trainer* t, const std::string& path) {
    auto rec = TraceRecorder::Open(path, contract_, kGrid, nullptr, *t);
    EXPECT_TRUE(rec.ok()) << rec.status().ToString();
    while (t->next_step() < t->total_steps()) {
      auto r = t->RunStep(rec->get());
      EXPECT_TRUE(r.ok()) << r.status().ToString();
      EXPECT_TRUE((*rec)->EndStep(*r, *t).ok());
    }
    return (*rec)->root();
  }

  // B_S = 2, B_L = 1 (cfg_.layers_per_block), I_C = I_A = 1.
  static constexpr AuditGrid kGrid{2, 1, 1, 1};
  Hash contract_{};
  std::string dir_;
  ModelConfig model_;
  TensorMap base_;
  TrainConfig cfg_;
  Dataset data_;
};

TEST_F(RecorderTest, RecordingDoesNotChangeTraining) {
  auto plain = Make(), recorded = Make();
  while (plain->next_step() < plain->total_steps()) ASSERT_TRUE(plain->RunStep().ok());
  Record(recorded.get(), dir_ + "/trace.jsonl");
  for (const auto& [name, t] : plain->trainable()) EXPECT_TRUE(t.BitEqual(recorded->trainable().at(name))) << name;
  for (const auto& [name, t] : plain->optimizer().state())
    EXPECT_TRUE(t.BitEqual(recorded->optimizer().state().at(name))) << name;
}

TEST_F(RecorderTest, TraceIsTheSameForEveryThreadCount) {
  std::string first;
  for (int threads : {1, 2, 3}) {
    SetDefaultThreads(threads);
    auto t = Make();
    const std::string path = dir_ + "/trace" + std::to_string(threads) + ".jsonl";
    Record(t.get(), path);
    if (first.empty()) first = ReadFile(path).value();
    EXPECT_EQ(ReadFile(path).value(), first) << threads << " threads";
  }
}

TEST_F(RecorderTest, RecordsParseAndDigestsMatchRecomputation) {
  auto t = Make();
  const std::string path = dir_ + "/trace.jsonl";
  Hash root = Record(t.get(), path);
  const std::string text = ReadFile(path).value();
  EXPECT_EQ(root, DatasetDigest(text));  // the root over the lines
  std::vector<std::string> lines;
  for (std::string_view l : DatasetLines(text)) lines.emplace_back(l);
  const size_t B = t->blocks().size();
  ASSERT_EQ(B, 2u);
  // header, B block-states at 0, then 5 steps with block-states after steps 1, 3 and 4.
  ASSERT_EQ(lines.size(), 1 + B + 5 + 3 * B);
  EXPECT_EQ(Json::parse(lines[0])["kind"], "header");
  for (const std::string& l : lines) EXPECT_EQ(Json::parse(l).dump(), l);  // canonical: sorted, no spaces

  // Recompute step 0's record by replaying it on a fresh trainer.
  auto replay = Make();
  Keeper keep;
  auto r = replay->RunStep(&keep);
  ASSERT_TRUE(r.ok());
  Json step0 = Json::parse(lines[1 + B]);
  EXPECT_EQ(step0["kind"], "step");
  EXPECT_EQ(step0["step"], 0);
  EXPECT_EQ(step0["loss"]["bits"], F32Bits(r->loss));
  EXPECT_EQ(step0["grad_norm"]["bits"], F32Bits(r->grad_norm));
  EXPECT_EQ(step0["learning_rate"]["bits"], F32Bits(r->learning_rate));
  EXPECT_EQ(step0["indices"].get<std::vector<int64_t>>(), r->indices);
  ASSERT_EQ(step0["boundaries"].size(), 2u);  // two micro-batches
  for (int64_t m = 0; m < 2; ++m) {
    ASSERT_EQ(step0["boundaries"][m].size(), B - 1);
    EXPECT_EQ(step0["boundaries"][m][0]["activation"], HashToHex(F32TensorDigest("activation.b1", keep.acts[{m, 1}])));
    EXPECT_EQ(step0["boundaries"][m][0]["gradient"], HashToHex(F32TensorDigest("gradient.b1", keep.grads[{m, 1}])));
  }
  // The per-block sums of squares give the norm's exact bits.
  std::map<std::string, double> sums;
  for (const Json& block : step0["grad_sumsq"])
    for (const auto& [name, bits] : block.items()) {
      uint64_t u = std::stoull(bits.get<std::string>(), nullptr, 16);
      sums[name] = std::bit_cast<double>(u);
    }
  EXPECT_EQ(sums.size(), t->trainable().size());
  std::vector<double> ordered;
  for (const auto& [name, v] : sums) ordered.push_back(v);
  EXPECT_EQ(F32Bits(NormFromSumsOfSquares(ordered)), F32Bits(r->grad_norm));
  // The last block-states are the final state, block by block.
  std::vector<NamedDigest> all;
  for (size_t b = 0; b < B; ++b) {
    Json s = Json::parse(lines[lines.size() - B + b]);
    EXPECT_EQ(s["kind"], "block-state");
    EXPECT_EQ(s["step"], 5);
    size_t count = 0;
    EXPECT_EQ(s["state"], HashToHex(BlockStateDigest(*t, b, &count)));
    EXPECT_EQ(s["tensors"], count);
  }
  // Block 0 at step 0 matches a fresh trainer's block 0.
  auto fresh = Make();
  EXPECT_EQ(Json::parse(lines[1])["state"], HashToHex(BlockStateDigest(*fresh, 0, nullptr)));
}

// TraceLayout names the line of every record, for step-block sizes that do
// and do not divide the step count.
TEST_F(RecorderTest, LayoutNamesTheLineOfEveryRecord) {
  for (int64_t steps_per_block : {1, 2, 5, 7}) {
    auto t = Make();
    const std::string path = dir_ + "/layout" + std::to_string(steps_per_block) + ".jsonl";
    {
      auto rec = TraceRecorder::Open(path, contract_, {steps_per_block, 1, 1, 1}, nullptr, *t).value();
      while (t->next_step() < t->total_steps()) ASSERT_TRUE(rec->EndStep(t->RunStep(rec.get()).value(), *t).ok());
    }
    const std::string text = ReadFile(path).value();  // outlives the views into it
    std::vector<std::string> lines;
    for (std::string_view l : DatasetLines(text)) lines.emplace_back(l);
    const TraceLayout layout{static_cast<int64_t>(t->blocks().size()), steps_per_block, t->total_steps()};
    ASSERT_EQ(lines.size(), layout.records()) << steps_per_block;
    std::set<uint64_t> named = {0};
    for (int64_t s = 0; s < layout.total_steps; ++s) {
      Json j = Json::parse(lines.at(layout.StepLine(s)));
      EXPECT_EQ(j["kind"], "step");
      EXPECT_EQ(j["step"], s);
      named.insert(layout.StepLine(s));
    }
    for (int64_t k = 0; k <= layout.total_steps; ++k) {
      if (!layout.is_state_step(k)) continue;
      for (int64_t b = 0; b < layout.blocks; ++b) {
        Json j = Json::parse(lines.at(layout.BlockStateLine(k, b)));
        EXPECT_EQ(j["kind"], "block-state");
        EXPECT_EQ(j["step"], k);
        EXPECT_EQ(j["block"], b);
        named.insert(layout.BlockStateLine(k, b));
      }
    }
    EXPECT_EQ(named.size(), lines.size()) << "every line is named exactly once";
    EXPECT_EQ(layout.step_blocks(), (5 + steps_per_block - 1) / steps_per_block);
  }
}

// A checkpoint at a kept state names the store's objects (no tensors of its
// own) and resumes exactly as a checkpoint holding the tensors does.
TEST_F(RecorderTest, CheckpointNamingTheKeptStatesResumesLikeACopy) {
  TensorStore store(dir_ + "/store");
  const std::string named = dir_ + "/named.safetensors", copy = dir_ + "/copy.safetensors";
  {
    auto t = Make();
    auto rec = TraceRecorder::Open(dir_ + "/kept.jsonl", contract_, kGrid, &store, *t).value();
    for (int i = 0; i < 3; ++i) {
      auto r = t->RunStep(rec.get());
      ASSERT_TRUE(r.ok());
      ASSERT_TRUE(rec->EndStep(*r, *t).ok());
      if (t->next_step() == 1) {
        EXPECT_EQ(rec->KeptStates(1), nullptr);
      }
      if (t->next_step() != 2) continue;
      const std::vector<Hash>* kept = rec->KeptStates(2);  // B_S * I_C = 2
      ASSERT_NE(kept, nullptr);
      EXPECT_EQ(kept->size(), t->blocks().size());
      ASSERT_TRUE(SaveCheckpointRef(named, *t, "id", StoreStatesRef(*kept)).ok());
      ASSERT_TRUE(SaveCheckpoint(copy, *t, "id").ok());
    }
  }
  EXPECT_TRUE(SafetensorsFile::Read(named).value().entries().empty());
  auto from_copy = Make(), from_store = Make();
  ASSERT_TRUE(ResumeFromCheckpoint(copy, "id", from_copy.get()).ok());
  Status st = ResumeFromCheckpoint(named, "id", from_store.get(), StoreStatesLoader(store));
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(from_store->next_step(), 2);
  EXPECT_EQ(FinalStateDigest(*from_store), FinalStateDigest(*from_copy));
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(from_copy->RunStep(nullptr).ok());
    ASSERT_TRUE(from_store->RunStep(nullptr).ok());
  }
  EXPECT_EQ(FinalStateDigest(*from_store), FinalStateDigest(*from_copy));

  // Without the store, or with one of its objects gone, it is refused.
  auto other = Make();
  EXPECT_EQ(ResumeFromCheckpoint(named, "id", other.get()).code(), Status::Code::kCorruption);
  TensorStore empty(dir_ + "/no-store");
  st = ResumeFromCheckpoint(named, "id", other.get(), StoreStatesLoader(empty));
  EXPECT_EQ(st.code(), Status::Code::kNotFound) << st.ToString();
  EXPECT_NE(st.message().find(named), std::string::npos) << st.ToString();
}

// Block states digested while the next step ran are those of the state in
// place: every block-state record equals the digest of a plain trainer's
// state at its step, and the file equals one whose block states were all
// written in place (without a store, I_C changes which are in the background
// and nothing else).
TEST_F(RecorderTest, BlockStatesDigestedDuringTheNextStepAreThoseInPlace) {
  auto plain = Make();
  std::map<std::pair<int64_t, int64_t>, std::string> expected;  // (step, block) -> state
  auto note = [&] {
    for (size_t b = 0; b < plain->blocks().size(); ++b)
      expected[{plain->next_step(), static_cast<int64_t>(b)}] = HashToHex(BlockStateDigest(*plain, b, nullptr));
  };
  note();
  while (plain->next_step() < plain->total_steps()) {
    ASSERT_TRUE(plain->RunStep().ok());
    note();
  }
  // B_S = 2, I_C = 4: no checkpoint step before the end (5), so the states
  // at 0, 2 and 4 are digested in the background.
  auto t = Make();
  const std::string path = dir_ + "/background.jsonl";
  {
    auto rec = TraceRecorder::Open(path, contract_, {2, 1, 4, 1}, nullptr, *t).value();
    while (t->next_step() < t->total_steps()) ASSERT_TRUE(rec->EndStep(t->RunStep(rec.get()).value(), *t).ok());
  }
  size_t states = 0;
  const std::string text = ReadFile(path).value();
  for (std::string_view l : DatasetLines(text)) {
    Json j = Json::parse(l);
    if (j["kind"] != "block-state") continue;
    ++states;
    EXPECT_EQ(j["state"], (expected[{j["step"].get<int64_t>(), j["block"].get<int64_t>()}])) << l;
  }
  EXPECT_EQ(states, 4 * t->blocks().size());  // steps 0, 2, 4, 5
  auto in_place = Make();
  Record(in_place.get(), dir_ + "/in_place.jsonl");  // I_C = 1: only step 0's in the background
  EXPECT_EQ(text, ReadFile(dir_ + "/in_place.jsonl").value());
}

// A failure to keep a tensor surfaces at an EndStep even when the block
// states waiting on it are written in the background, and no block-state
// record follows it.
TEST_F(RecorderTest, ABackgroundFailureIsReportedAtEndStep) {
  ASSERT_TRUE(WriteFileAtomic(dir_ + "/store", "x").ok());
  TensorStore store(dir_ + "/store");  // a file where the store's directory should be
  auto t = Make();
  const std::string path = dir_ + "/failed.jsonl";
  Status failed;
  {
    auto rec = TraceRecorder::Open(path, contract_, {2, 1, 4, 1}, &store, *t).value();
    while (failed.ok() && t->next_step() < t->total_steps()) failed = rec->EndStep(t->RunStep(rec.get()).value(), *t);
  }
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.message().find(dir_ + "/store"), std::string::npos) << failed.ToString();
  int64_t last_state = -1;
  const std::string text = ReadFile(path).value();
  for (std::string_view l : DatasetLines(text)) {
    Json j = Json::parse(l);
    if (j["kind"] == "block-state") last_state = j["step"].get<int64_t>();
  }
  EXPECT_EQ(last_state, 0);  // step 0's were written before anything was kept
}

TEST_F(RecorderTest, ResumedRunEndsWithTheSameTrace) {
  // Checkpoints at step 2: with its block states written in place, and the
  // odd steps' in the background (B_S = 1, I_C = 2).
  for (const AuditGrid grid : {kGrid, AuditGrid{1, 1, 2, 1}}) {
    SCOPED_TRACE(grid.steps_per_block);
    auto whole = Make();
    {
      auto rec = TraceRecorder::Open(dir_ + "/whole.jsonl", contract_, grid, nullptr, *whole).value();
      while (whole->next_step() < whole->total_steps())
        ASSERT_TRUE(rec->EndStep(whole->RunStep(rec.get()).value(), *whole).ok());
    }
    const std::string expected = ReadFile(dir_ + "/whole.jsonl").value();
    // Run 2 steps past the checkpoint at step 2, then resume from it.
    auto t = Make();
    const std::string path = dir_ + "/resumed.jsonl";
    {
      auto rec = TraceRecorder::Open(path, contract_, grid, nullptr, *t).value();
      for (int i = 0; i < 4; ++i) {
        auto r = t->RunStep(rec.get());
        ASSERT_TRUE(r.ok());
        ASSERT_TRUE(rec->EndStep(*r, *t).ok());
        if (t->next_step() == 2) {
          ASSERT_TRUE(SaveCheckpoint(dir_ + "/ckpt.safetensors", *t, "id").ok());
        }
      }
    }
    // A torn last line too.
    { std::ofstream(path, std::ios::app) << "{\"kind\":\"st"; }
    auto again = Make();
    ASSERT_TRUE(ResumeFromCheckpoint(dir_ + "/ckpt.safetensors", "id", again.get()).ok());
    ASSERT_EQ(again->next_step(), 2);
    Hash root;
    {
      auto rec = TraceRecorder::Open(path, contract_, grid, nullptr, *again).value();
      while (again->next_step() < again->total_steps())
        ASSERT_TRUE(rec->EndStep(again->RunStep(rec.get()).value(), *again).ok());
      root = rec->root();
    }
    EXPECT_EQ(ReadFile(path).value(), expected);
    EXPECT_EQ(root, DatasetDigest(expected));
  }
  // Another run's header is refused.
  const std::string path = dir_ + "/resumed.jsonl";
  auto other = Make();
  ASSERT_TRUE(ResumeFromCheckpoint(dir_ + "/ckpt.safetensors", "id", other.get()).ok());
  Hash c{};
  c[0] = 1;
  auto bad = TraceRecorder::Open(path, c, kGrid, nullptr, *other);
  EXPECT_EQ(bad.status().code(), Status::Code::kCorruption);
  EXPECT_NE(bad.status().message().find(path + ":1"), std::string::npos) << bad.status().ToString();
}

}  // namespace
}  // namespace aftune
