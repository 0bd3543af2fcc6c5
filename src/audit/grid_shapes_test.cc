// A property of the recorder and the audit together: for every shape of the
// audit grid an honest run passes its audit with every cell checked. The
// shapes cover B_L from one layer to the whole model and beyond it (a single
// layer-block, whose step records list no boundaries), B_S dividing the step
// count and not, a single step, several epochs, gradient accumulation, LoRA
// and full fine-tuning.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <unistd.h>

#include "audit/audit_test_util.h"
#include "protocol/trace_layout.h"

namespace aftune {
namespace {

struct GridShape {
  std::string name;
  int64_t layers_per_block;  // B_L
  int64_t steps_per_block;   // B_S
  int64_t max_steps;         // -1: num_train_epochs over the data
  int64_t epochs = 1;
  int64_t accumulation = 1;
  bool full = false;
};

constexpr int64_t kLayers = 3;
constexpr int64_t kBatch = 3;
constexpr int kExamples = 6;  // two steps an epoch without accumulation

std::ostream& operator<<(std::ostream& os, const GridShape& g) { return os << g.name; }

testing::RunSpec SpecOf(const GridShape& g) {
  testing::RunSpec s;
  s.model = PresetConfig("tiny").value();
  s.model.num_hidden_layers = kLayers;
  s.training.max_steps = g.max_steps;
  s.training.num_train_epochs = g.epochs;
  s.training.per_device_train_batch_size = kBatch;
  s.training.gradient_accumulation_steps = g.accumulation;
  s.training.max_seq_length = 16;
  s.training.learning_rate = g.full ? 1e-3 : 2e-2;
  if (g.full) {
    s.training.full_finetune = true;
    s.training.lora = LoraConfig{};
  } else {
    s.training.lora = {4, 8.0, {Proj::kQ, Proj::kV}};
  }
  s.grid = {g.steps_per_block, g.layers_per_block, 1, 1};
  s.data_jsonl = testing::SumsJsonl(3, 2);
  s.key_seed[0] = 9;
  return s;
}

int64_t Ceil(int64_t a, int64_t b) { return (a + b - 1) / b; }

class GridShapeTest : public ::testing::TestWithParam<GridShape> {};

TEST_P(GridShapeTest, HonestRunPassesWithEveryCellAudited) {
  const GridShape& g = GetParam();
  const std::string dir = (std::filesystem::temp_directory_path() /
                           ("aftune-grid-test-" + std::to_string(::getpid()) + "-" + g.name))
                              .string();
  std::filesystem::remove_all(dir);
  const testing::RecordedRun run = testing::RecordRun(dir, SpecOf(g));

  const int64_t steps =
      g.max_steps > 0 ? g.max_steps : g.epochs * Ceil(kExamples, kBatch * g.accumulation);
  const int64_t blocks = Ceil(kLayers, std::min(g.layers_per_block, kLayers));
  const int64_t cells = blocks * Ceil(steps, g.steps_per_block);
  EXPECT_EQ(run.commitment.steps, static_cast<uint64_t>(steps));
  const TraceLayout layout{blocks, g.steps_per_block, steps};
  EXPECT_EQ(run.lines.size(), layout.records());

  testing::MemoryOpenings source(&run);
  const ChallengeRequest all{cells + 5, {4, 2}, ChallengeStrategy::kUniform, std::nullopt};
  Result<AuditReport> r = AuditTraining(testing::AuditInputsOf(run, &source), all);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->passed()) << ReportSummary(*r);
  EXPECT_EQ(r->cells.size(), static_cast<size_t>(cells));
  EXPECT_DOUBLE_EQ(r->compute_fraction, 1.0);
  std::filesystem::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, GridShapeTest,
    ::testing::Values(GridShape{"one_layer_blocks", 1, 2, 5, 1, 2},
                      GridShape{"two_layer_blocks", 2, 2, 4, 1, 2},
                      GridShape{"single_block", 3, 2, 5, 1, 2},
                      GridShape{"block_beyond_the_model", 8, 3, 6},
                      GridShape{"single_block_one_step", 3, 4, 1},
                      GridShape{"one_step", 1, 2, 1},
                      GridShape{"step_block_of_one", 2, 1, 3, 1, 2},
                      GridShape{"epochs", 1, 4, -1, 3},
                      GridShape{"single_block_epochs", 4, 3, -1, 2},
                      GridShape{"full_single_block", 3, 2, 3, 1, 2, true},
                      GridShape{"full_one_layer_blocks", 1, 2, 3, 1, 1, true},
                      GridShape{"full_two_layer_blocks_epochs", 2, 3, -1, 2, 1, true}),
    [](const ::testing::TestParamInfo<GridShape>& shape) { return shape.param.name; });

}  // namespace
}  // namespace aftune
