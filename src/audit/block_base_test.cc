// The audit with a base read in proven slices (audit/block_base.h), through a
// test BaseSource that proves every tensor of the run's own base as the
// provider does (client/remote_base.h over HTTP is tested by the cli tests)
// and can alter its answers: the verdict and the checks are the local
// audit's for LoRA and for full fine-tuning (whose state.initial reads every
// block's slice); a tensor off its digest, a proof off the root, a tensor
// missing or another added, a slice withheld fail cell.base (LoRA) or
// state.initial (full), naming what was wrong.
#include "audit/block_base.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <set>

#include "audit/audit_test_util.h"
#include "train/train_config.h"

namespace aftune {
namespace {

// The base directory's tensors, each copied and proven in the tree of the
// base's state digest; `alter` may change a slice before it is answered.
class ProvingBase : public BaseSource {
 public:
  explicit ProvingBase(std::string dir)
      : dir_(std::move(dir)), files_(WeightFiles::Open(dir_).value()),
        config_(ReadModelConfig(dir_ + "/config.json").value()) {
    for (const NamedDigest& d : WeightFilesTensorDigests(files_)) leaves_.push_back(LeafHash(d.digest));
  }
  const std::string& name() const override { return name_; }
  const std::string& files_dir() const override { return dir_; }
  bool proves_slices() const override { return true; }

  Result<BaseSlice> Slice(int64_t block, LayerSpan layers) override {
    ++slices;
    if (withhold) return Status::IOError("slice " + std::to_string(block) + " withheld");
    auto bytes = std::make_shared<std::vector<std::string>>();
    bytes->reserve(files_.tensors().size() + 1);  // the views below must not move
    BaseSlice slice;
    slice.tree_size = leaves_.size();
    auto add = [&](const std::string& tensor) {
      const auto& all = files_.tensors();
      const auto at = std::find_if(all.begin(), all.end(), [&](const auto& t) { return t.entry->name == tensor; });
      const SafetensorsEntry& e = *at->entry;
      const auto index = static_cast<uint64_t>(at - all.begin());
      bytes->emplace_back(reinterpret_cast<const char*>(e.bytes.data()), e.bytes.size());
      slice.tensors[tensor] = WeightView{e.dtype, e.shape, bytes->back().data()};
      slice.proofs[tensor] = {index, MakeInclusionProof(leaves_, index)};
    };
    for (const auto& [tensor, shape] : BaseTensorShapes(config_, layers)) add(tensor);
    if (alter) alter(&slice, bytes.get(), add);
    slice.owner = std::move(bytes);
    return slice;
  }

  using Add = std::function<void(const std::string&)>;
  std::function<void(BaseSlice*, std::vector<std::string>*, const Add&)> alter;
  bool withhold = false;
  int slices = 0;

 private:
  std::string dir_, name_ = "the proving test base";
  WeightFiles files_;
  ModelConfig config_;
  std::vector<Hash> leaves_;
};

testing::RunSpec Spec(bool full) {
  testing::RunSpec s;
  s.model = PresetConfig("tiny").value();
  s.model.num_hidden_layers = 3;
  s.model.torch_dtype = "bfloat16";
  s.training.max_steps = 4;
  s.training.per_device_train_batch_size = 3;
  s.training.max_seq_length = 16;
  s.training.learning_rate = full ? 1e-3 : 2e-2;
  s.training.full_finetune = full;
  s.training.lora = full ? LoraConfig{} : LoraConfig{4, 8.0, {Proj::kQ, Proj::kV}};
  s.grid = {2, 2, 1, 1};  // layer-blocks [0, 2) and [2, 3), two step-blocks
  s.data_jsonl = testing::SumsJsonl(4, 3);
  s.key_seed[0] = 5;
  return s;
}

struct Outcome {
  std::string check;
  bool passed;
  std::optional<Cell> cell;
  bool operator==(const Outcome& o) const {
    return check == o.check && passed == o.passed && cell.has_value() == o.cell.has_value() &&
           (!cell || (cell->block == o.cell->block && cell->step_block == o.cell->step_block));
  }
};

std::vector<Outcome> Outcomes(const AuditReport& r) {
  std::vector<Outcome> out;
  for (const AuditCheck& c : r.checks) out.push_back({c.check, c.passed, c.cell});
  return out;
}

// The failed checks' names and the first one's message.
std::pair<std::set<std::string>, std::string> Failures(const AuditReport& r) {
  std::set<std::string> names;
  std::string first;
  for (const AuditCheck& c : r.checks)
    if (!c.passed) {
      if (names.empty()) first = c.message;
      names.insert(c.check);
    }
  return {names, first};
}

class BlockBaseTest : public ::testing::TestWithParam<bool> {
 protected:
  // One recorded run per method, shared by the suite's tests.
  void SetUp() override {
    std::unique_ptr<testing::RecordedRun>& run = runs_[GetParam()];
    if (!run) {
      const std::string dir = (std::filesystem::temp_directory_path() /
                               ("aftune-block-base-" + std::to_string(::getpid()) + (GetParam() ? "-full" : "-lora")))
                                  .string();
      std::filesystem::remove_all(dir);
      run = std::make_unique<testing::RecordedRun>(testing::RecordRun(dir, Spec(GetParam())));
    }
    run_ = run.get();
    proving_ = std::make_unique<ProvingBase>(run_->base_dir);
  }
  static void TearDownTestSuite() {
    for (auto& [full, run] : runs_) std::filesystem::remove_all(run->dir);
    runs_.clear();
  }

  AuditReport Audit(BaseSource* base) {
    testing::MemoryOpenings source(run_);
    TrainAuditInputs in = testing::AuditInputsOf(*run_, &source);
    in.base = base;
    auto r = AuditTraining(in, {100, {7}, ChallengeStrategy::kUniform, std::nullopt});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : AuditReport{};
  }
  // The check an altered base fails: cell.base for LoRA, state.initial for full.
  std::string AlteredCheck() const { return GetParam() ? "state.initial" : "cell.base"; }

  static inline std::map<bool, std::unique_ptr<testing::RecordedRun>> runs_;
  const testing::RecordedRun* run_ = nullptr;
  std::unique_ptr<ProvingBase> proving_;
};

TEST_P(BlockBaseTest, ProvenSlicesGiveTheLocalVerdictAndChecks) {
  const AuditReport local = Audit(run_->base.get());
  const AuditReport proven = Audit(proving_.get());
  EXPECT_TRUE(local.passed());
  EXPECT_TRUE(proven.passed());
  EXPECT_EQ(Outcomes(local), Outcomes(proven));
  // One slice per block: the cells run sorted by block (LoRA); each block's
  // start (full fine-tuning).
  EXPECT_EQ(proving_->slices, 2);
}

TEST_P(BlockBaseTest, ATensorOffItsDigestFails) {
  proving_->alter = [](BaseSlice*, std::vector<std::string>* bytes, const auto&) { bytes->back()[0] ^= 1; };
  const auto [failed, message] = Failures(Audit(proving_.get()));
  EXPECT_EQ(failed, std::set<std::string>{AlteredCheck()});
  EXPECT_NE(message.find("is not proven under the contract's base state digest"), std::string::npos) << message;
}

TEST_P(BlockBaseTest, AProofOffTheRootFails) {
  proving_->alter = [](BaseSlice* s, std::vector<std::string>*, const auto&) {
    s->proofs.begin()->second.path.front()[5] ^= 0x10;
  };
  const auto [failed, message] = Failures(Audit(proving_.get()));
  EXPECT_EQ(failed, std::set<std::string>{AlteredCheck()});
  EXPECT_NE(message.find("is not proven"), std::string::npos) << message;
}

TEST_P(BlockBaseTest, AMissingOrAnAddedTensorFails) {
  proving_->alter = [](BaseSlice* s, std::vector<std::string>*, const auto&) {
    s->proofs.erase(s->tensors.begin()->first);
    s->tensors.erase(s->tensors.begin());
  };
  auto [failed, message] = Failures(Audit(proving_.get()));
  EXPECT_EQ(failed, std::set<std::string>{AlteredCheck()});
  EXPECT_NE(message.find(" lacks tensor model."), std::string::npos) << message;

  // A genuine tensor of the base, genuinely proven, but not the block's.
  proving_->alter = [](BaseSlice* s, std::vector<std::string>*, const ProvingBase::Add& add) {
    add(s->tensors.count(InputNormName(0)) ? InputNormName(2) : InputNormName(0));
  };
  std::tie(failed, message) = Failures(Audit(proving_.get()));
  EXPECT_EQ(failed, std::set<std::string>{AlteredCheck()});
  EXPECT_NE(message.find(", which the block does not use"), std::string::npos) << message;
}

TEST_P(BlockBaseTest, AWithheldSliceFailsNamingTheSource) {
  proving_->withhold = true;
  const AuditReport r = Audit(proving_.get());
  const auto [failed, message] = Failures(r);
  EXPECT_EQ(failed, std::set<std::string>{AlteredCheck()});
  EXPECT_NE(message.find("could not be read from the proving test base: I/O error: slice 0 withheld"),
            std::string::npos)
      << message;
  if (!GetParam()) {  // no LoRA cell is re-executed without its base
    for (const AuditCheck& c : r.checks) EXPECT_NE(c.check, "cell.end_state") << c.message;
  }
}

INSTANTIATE_TEST_SUITE_P(Methods, BlockBaseTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& p) { return p.param ? "full" : "lora"; });

}  // namespace
}  // namespace aftune
