// The training audit against a run recorded in memory: an honest run passes
// every check of every cell; each kind of tampering fails with the check
// that must catch it; the draw is a function of the trace root and the nonce.
#include "audit/train_audit.h"

#include <gtest/gtest.h>

#include <bit>
#include <filesystem>
#include <unistd.h>
#include <regex>
#include <set>

#include "audit/audit_test_util.h"
#include "protocol/trace_record.h"

namespace aftune {
namespace {

using testing::MemoryOpenings;
using testing::RecordedRun;

RecordedRun* g_run = nullptr;

testing::RunSpec Spec() {
  testing::RunSpec s;
  s.model = PresetConfig("tiny").value();
  s.model.num_hidden_layers = 3;  // layer-blocks of one layer: first, middle, last
  s.training.max_steps = 6;
  s.training.per_device_train_batch_size = 3;
  s.training.gradient_accumulation_steps = 2;
  s.training.learning_rate = 2e-2;
  s.training.max_seq_length = 16;
  s.training.lora = {4, 8.0, {Proj::kQ, Proj::kV}};
  s.grid = {2, 1, 1, 1};  // B_S = 2, B_L = 1: a grid of 3 x 3 cells
  s.data_jsonl = testing::SumsJsonl(5, 3);
  s.key_seed[0] = 7;
  return s;
}

class TrainAuditTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // One directory per process: ctest runs each test in its own process, in parallel.
    const std::string dir =
        (std::filesystem::temp_directory_path() / ("aftune-audit-test-" + std::to_string(::getpid()))).string();
    std::filesystem::remove_all(dir);
    g_run = new RecordedRun(testing::RecordRun(dir, Spec()));
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(g_run->dir);
    delete g_run;
  }

  static AuditReport Audit(const RecordedRun& run, int64_t samples = 100, std::optional<std::string> cells = {}) {
    MemoryOpenings source(&run);
    ChallengeRequest c{samples, {1, 2, 3}, ChallengeStrategy::kUniform, cells};
    auto r = AuditTraining(testing::AuditInputsOf(run, &source), c);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : AuditReport{};
  }
  // The failed checks as "check" or "check@L,S".
  static std::set<std::string> Failed(const AuditReport& r) {
    std::set<std::string> out;
    for (const AuditCheck& c : r.checks)
      if (!c.passed)
        out.insert(c.check + (c.cell ? "@" + std::to_string(c.cell->block) + "," + std::to_string(c.cell->step_block)
                                     : ""));
    return out;
  }
};

TEST_F(TrainAuditTest, HonestRunPassesEveryCheckOfEveryCell) {
  const AuditReport r = Audit(*g_run);
  EXPECT_TRUE(r.passed()) << ReportSummary(r);
  EXPECT_EQ(r.cells.size(), 9u);
  EXPECT_DOUBLE_EQ(r.compute_fraction, 1.0);
  std::set<std::string> kinds;
  for (const AuditCheck& c : r.checks) kinds.insert(c.check);
  for (const char* k : {"commitment.signature", "contract.digest", "inputs.dataset", "trace.lines", "trace.records",
                        "trace.batches", "state.initial", "cell.inputs", "cell.upstream_gradients", "cell.outputs",
                        "cell.input_gradients", "cell.grad_sumsq", "cell.grad_norm", "cell.loss", "cell.end_state",
                        "cell.batches", "final.state", "final.weights"})
    EXPECT_TRUE(kinds.count(k)) << k;
  const nlohmann::json j = ReportJson(r);
  EXPECT_EQ(j["verdict"], "pass");
  EXPECT_EQ(j["miss_probability"]["0.1"], 0.0);  // every cell checked
  EXPECT_EQ(j["loss_curve"].size(), 6u);
}

TEST_F(TrainAuditTest, HonestFullFineTuningOfABf16ModelPasses) {
  testing::RunSpec spec = Spec();
  spec.model.torch_dtype = "bfloat16";  // the delivered model is stored rounded
  spec.training.full_finetune = true;
  spec.training.lora = LoraConfig{};
  spec.training.learning_rate = 1e-3;
  const std::string dir = g_run->dir + "-full";
  RecordedRun run = testing::RecordRun(dir, spec);
  const AuditReport r = Audit(run);
  EXPECT_TRUE(r.passed()) << ReportSummary(r);
  // A delivered tensor that is not the final state rounded to bf16 fails.
  SafetensorsFile f = testing::Must(SafetensorsFile::Read(run.weights_path), "read");
  TensorMap t = testing::Must(f.AllF32(), "f32");
  Tensor& w = t.at(FinalNormName());
  w[0] = w[0] * 2.0f;
  run.weights_path = dir + "/edited.safetensors";
  testing::Must(WriteSafetensors(run.weights_path, t, DType::kBF16, {}), "write");
  EXPECT_EQ(Failed(Audit(run, 1)), (std::set<std::string>{"final.weights"}));
  std::filesystem::remove_all(dir);
}

// Tied embeddings: the first and the last block both update the embedding;
// their cells re-execute together and an honest run passes every cell.
TEST_F(TrainAuditTest, HonestFullFineTuningOfATiedModelAcrossBlocksPasses) {
  testing::RunSpec spec = Spec();
  spec.model.tie_word_embeddings = true;
  spec.training.full_finetune = true;
  spec.training.lora = LoraConfig{};
  spec.training.learning_rate = 1e-3;
  const std::string dir = g_run->dir + "-tied";
  RecordedRun run = testing::RecordRun(dir, spec);
  const AuditReport r = Audit(run);
  EXPECT_TRUE(r.passed()) << ReportSummary(r);
  EXPECT_EQ(r.cells.size(), 9u);
  std::filesystem::remove_all(dir);

  // The provider halves an embedding weight after step 3 (step-block 1) and
  // commits to what it did: the cells of blocks 0 and 2 over step-block 1,
  // which re-execute the embedding's update, fail; no other cell does.
  RecordedRun deviant = testing::RecordRun(dir, spec, [](Trainer& t, int64_t done) {
    if (done != 3) return;
    TensorMap w = t.trainable();
    Tensor& e = w.at(EmbeddingName());
    e[0] = e[0] * 0.5f;
    TensorMap opt = t.optimizer().state();
    testing::Must(t.Restore(std::move(w), std::move(opt), done), "restore");
  });
  const std::set<std::string> failed = Failed(Audit(deviant));
  EXPECT_TRUE(failed.count("cell.end_state@0,1")) << ReportSummary(Audit(deviant));
  EXPECT_TRUE(failed.count("cell.end_state@2,1"));
  for (const std::string& f : failed) EXPECT_TRUE(f.ends_with("@0,1") || f.ends_with("@2,1")) << f;
  std::filesystem::remove_all(dir);
}

TEST_F(TrainAuditTest, SampleSizeAndComputeFraction) {
  const AuditReport r = Audit(*g_run, 2);
  EXPECT_TRUE(r.passed()) << ReportSummary(r);
  ASSERT_EQ(r.cells.size(), 2u);
  EXPECT_DOUBLE_EQ(r.compute_fraction, 2.0 / 9.0);  // equal cells: 1 layer x 2 steps of 3 x 6
}

TEST_F(TrainAuditTest, TamperedBoundaryTensorFailsTheCellThatReadsIt) {
  RecordedRun run = *g_run;
  Tensor& x = run.boundaries.at({3, 1, BoundaryKind::kActivation})[1];
  x[5] = x[5] + 1.0f;
  const AuditReport r = Audit(run, 0, "1,1;0,1");
  EXPECT_EQ(Failed(r), (std::set<std::string>{"cell.inputs@1,1"})) << ReportSummary(r);
  for (const AuditCheck& c : r.checks) {
    if (!c.passed) {
      EXPECT_EQ(c.evidence["step"], 3) << c.evidence.dump();
    }
  }
}

TEST_F(TrainAuditTest, TamperedStateFailsStartAndEnd) {
  RecordedRun run = *g_run;
  Tensor& a = run.states.at({2, 0}).at(LoraAName(0, Proj::kQ));
  a[0] = std::nextafter(a[0], 2.0f);
  const AuditReport r = Audit(run, 0, "0,0;0,1");
  EXPECT_EQ(Failed(r), (std::set<std::string>{"cell.start_state@0,1"})) << ReportSummary(r);
}

TEST_F(TrainAuditTest, DeviatingTrainingFailsExactlyTheDeviatingCell) {
  // The provider changes block 1's weights after step 3 and commits to what it did.
  const std::string dir = g_run->dir + "-deviant";
  RecordedRun run = testing::RecordRun(dir, Spec(), [](Trainer& t, int64_t done) {
    if (done != 3) return;
    TensorMap w = t.trainable();
    Tensor& b = w.at(LoraBName(1, Proj::kV));
    b[0] = b[0] * 0.5f;
    TensorMap opt = t.optimizer().state();
    testing::Must(t.Restore(std::move(w), std::move(opt), done), "restore");
  });
  const AuditReport r = Audit(run);
  EXPECT_FALSE(r.passed());
  // Cell (1, 1) runs steps 2 and 3 of block 1: its end state cannot be reproduced.
  const std::set<std::string> failed = Failed(r);
  EXPECT_TRUE(failed.count("cell.end_state@1,1")) << ReportSummary(r);
  for (const std::string& f : failed) EXPECT_NE(f.find("@1,1"), std::string::npos) << f;
  std::filesystem::remove_all(dir);
}

TEST_F(TrainAuditTest, EditedStepRecordFailsItsProof) {
  RecordedRun run = *g_run;
  const uint64_t line = TraceLayout{3, 2, 6}.StepLine(4);
  run.lines[line] = std::regex_replace(run.lines[line], std::regex("\"epoch\":1"), "\"epoch\":0");
  ASSERT_NE(run.lines[line], g_run->lines[line]);
  EXPECT_EQ(Failed(Audit(run, 0)), (std::set<std::string>{"trace.lines"}));
}

TEST_F(TrainAuditTest, EditedAndResignedStepRecordFailsTheCellThatRecomputesIt) {
  RecordedRun run = *g_run;
  const uint64_t line = TraceLayout{3, 2, 6}.StepLine(4);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(run.lines[line], m, std::regex("\"loss\":\\{\"bits\":\"([0-9a-f]{8})\"")));
  const std::string bits = m[1].str();
  const std::string other = bits.substr(0, 7) + (bits[7] == '0' ? "1" : "0");  // one ulp away
  // bits and value edited together: the record stays canonical (record_parse
  // refuses a value that is not its bits), only the recomputation sees it.
  const float edited = std::bit_cast<float>(static_cast<uint32_t>(std::stoul(other, nullptr, 16)));
  run.lines[line] = std::regex_replace(run.lines[line], std::regex("\"loss\":\\{[^}]*\\}"),
                                       "\"loss\":" + RecordedF32Json(edited), std::regex_constants::format_first_only);
  run.commitment.trace = testing::LinesRoot(run.lines);
  testing::Resign(&run);
  const AuditReport r = Audit(run);
  EXPECT_EQ(Failed(r), (std::set<std::string>{"cell.loss@2,2"})) << ReportSummary(r);
}

TEST_F(TrainAuditTest, TamperedDeliveredWeightsFail) {
  RecordedRun run = *g_run;
  const std::string copy = run.dir + "/tampered_adapter.safetensors";
  SafetensorsFile f = testing::Must(SafetensorsFile::Read(run.weights_path), "read");
  TensorMap t = testing::Must(f.AllF32(), "f32");
  Tensor& b = t.at(LoraBName(2, Proj::kQ));
  b[1] = -b[1];
  testing::Must(WriteSafetensors(copy, t, DType::kF32, {}), "write");
  run.weights_path = copy;
  EXPECT_EQ(Failed(Audit(run, 1)), (std::set<std::string>{"final.weights"}));
}

TEST_F(TrainAuditTest, TamperedNoteAndWrongKeyFailTheSignature) {
  RecordedRun run = *g_run;
  run.note[run.note.find("steps 6") + 6] = '7';
  AuditReport r = Audit(run, 1);
  EXPECT_EQ(Failed(r), (std::set<std::string>{"commitment.signature"}));
  EXPECT_EQ(r.checks.size(), 1u);  // nothing else is trusted
  run = *g_run;
  Ed25519Seed other{};
  other[0] = 9;
  run.provider = testing::Must(PrivateKey::FromSeed("example.com/provider", other), "key").public_key();
  EXPECT_EQ(Failed(Audit(run, 1)), (std::set<std::string>{"commitment.signature"}));
}

// A provider that answers fewer lines than asked, or none.
class ShortLines : public MemoryOpenings {
 public:
  using MemoryOpenings::MemoryOpenings;
  Result<std::vector<OpenedLine>> Lines(std::span<const uint64_t> indices) override {
    if (indices.size() == 1) return Status::NotFound("line withheld");
    auto lines = MemoryOpenings::Lines(indices);
    if (lines.ok()) lines->pop_back();
    return lines;
  }
};

TEST_F(TrainAuditTest, WithheldLinesFail) {
  ShortLines source(g_run);
  auto r = AuditTraining(testing::AuditInputsOf(*g_run, &source), {1, {1}, ChallengeStrategy::kUniform, {}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Failed(*r), (std::set<std::string>{"trace.lines"}));
}

TEST_F(TrainAuditTest, CommitmentOfAnotherContractFails) {
  RecordedRun run = *g_run;
  run.commitment.contract[0] ^= 1;
  testing::Resign(&run);
  EXPECT_EQ(Failed(Audit(run, 1)), (std::set<std::string>{"contract.digest"}));
}

TEST_F(TrainAuditTest, CouldNotAuditNamesTheInput) {
  RecordedRun run = *g_run;
  run.data_path = run.dir + "/missing.jsonl";
  MemoryOpenings source(&run);
  auto r = AuditTraining(testing::AuditInputsOf(run, &source), {1, {1}, ChallengeStrategy::kUniform, {}});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("missing.jsonl"), std::string::npos) << r.status().ToString();
  run = *g_run;
  auto bad = AuditTraining(testing::AuditInputsOf(run, &source), {1, {1}, ChallengeStrategy::kUniform, "3,0"});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("outside the grid"), std::string::npos) << bad.status().ToString();
}

}  // namespace
}  // namespace aftune
