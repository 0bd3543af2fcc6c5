// Dishonest providers against the training audit (issue 5): each attack
// trains (or edits its run) in its own way and commits to what it did; the
// auditor audits with S cells drawn uniformly under 50 different nonces.
//
// For every attack the program first audits all n cells once, which gives
// the deviating cells D (those with a failed check) and whether a check
// outside the cells fails (the commitment, the inputs, the trace's records,
// the initial or final state: then every audit detects it). Then, per S, it
// prints the detection rate over the nonces beside the probability the
// uniform draw hits D, 1 - C(n-|D|, S)/C(n, S) (itself >= 1 - (1-f)^S for
// f = |D|/n), and checks that each audit failed exactly when it drew a cell
// of D or a global check failed. Last, honest runs audited under 50 nonces
// give the false-positive count.
//
// The job: the tiny preset with 4 layers (B_L = 1: 4 layer-blocks), LoRA
// r = 8 on q/v, 40 steps of 4 examples of single-digit sums, B_S = 2
// (20 step-blocks): n = 80 cells.
//
// Usage: train_attacks_eval [nonces (default 50)] [work dir]
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <iterator>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "audit/audit_test_util.h"
#include "tensor/dtype.h"
#include "protocol/trace_record.h"

namespace aftune {
namespace {

using testing::Must;
using testing::RecordedRun;
using testing::RunSpec;

constexpr int64_t kSteps = 40, kStepsPerBlock = 2, kLayers = 4;
constexpr int kSampleSizes[] = {1, 2, 4, 8, 16};

std::string Sums(bool poisoned, bool subset) {
  std::string s;
  for (int i = 0; i < 100; ++i) {
    int k = subset && i >= 50 ? i - 50 : i;  // the second half replaced by the first
    const int a = k / 10, b = k % 10;
    int sum = a + b;
    if (poisoned && i % 20 == 7) sum = sum + (sum % 10 == 9 ? -1 : 1);  // 5 completions off by one, same length
    s += "{\"prompt\": \"" + std::to_string(a) + "+" + std::to_string(b) + "=\", \"completion\": \"" +
         std::to_string(sum) + "\"}\n";
  }
  return s;
}

RunSpec Spec() {
  RunSpec s;
  s.model = PresetConfig("tiny").value();
  s.model.num_hidden_layers = kLayers;
  s.training.max_steps = kSteps;
  s.training.per_device_train_batch_size = 4;
  s.training.learning_rate = 1e-2;
  s.training.warmup_steps = 4;
  s.training.max_seq_length = 16;
  s.training.lora = {8, 16.0, {Proj::kQ, Proj::kV}};
  s.grid = {kStepsPerBlock, 1, 1, 1};
  s.data_jsonl = Sums(false, false);
  s.key_seed[0] = 42;
  return s;
}

// Replaces the trainer's trainable tensors by f(name, tensor) and keeps its moments.
void Rewrite(Trainer& t, int64_t done, const std::function<void(const std::string&, Tensor*)>& f) {
  TensorMap w = t.trainable();
  for (auto& [name, x] : w) f(name, &x);
  TensorMap opt = t.optimizer().state();
  Must(t.Restore(std::move(w), std::move(opt), done), "restore");
}

// Skips the update of the steps `skip(step)` says: the state after them is the state before.
testing::Deviation SkipUpdates(std::function<bool(int64_t)> skip) {
  auto prev = std::make_shared<std::pair<TensorMap, TensorMap>>();
  return [prev, skip](Trainer& t, int64_t done) {
    if (done > 0 && skip(done - 1)) {
      Must(t.Restore(prev->first, prev->second, done), "restore");
    }
    *prev = {t.trainable(), t.optimizer().state()};
  };
}

struct Attack {
  std::string name;
  std::function<RecordedRun(const std::string& dir, const RecordedRun& honest)> make;
};

std::vector<Attack> Attacks() {
  std::vector<Attack> a;
  a.push_back({"fabricated steps (10% of updates copied)", [](const std::string& dir, const RecordedRun&) {
                 return testing::RecordRun(dir, Spec(), SkipUpdates([](int64_t s) { return s % 10 == 3; }));
               }});
  a.push_back({"fewer epochs, padded to the step count", [](const std::string& dir, const RecordedRun&) {
                 return testing::RecordRun(dir, Spec(), SkipUpdates([](int64_t s) { return s >= 25; }));
               }});
  a.push_back({"lower LoRA rank (4 of 8) padded with zeros", [](const std::string& dir, const RecordedRun&) {
                 return testing::RecordRun(dir, Spec(), [](Trainer& t, int64_t done) {
                   if (done != 0) return;
                   Rewrite(t, done, [](const std::string& name, Tensor* x) {
                     const bool is_a = name.find("lora_A") != std::string::npos;
                     const int64_t rows = x->dim(0), cols = x->dim(1);
                     for (int64_t i = 0; i < rows; ++i)
                       for (int64_t j = 0; j < cols; ++j)
                         if ((is_a ? i : j) >= 4) (*x)[i * cols + j] = 0.0f;
                   });
                 });
               }});
  a.push_back({"another learning rate (2x)", [](const std::string& dir, const RecordedRun&) {
                 RunSpec s = Spec();
                 s.provider_config = [](TrainConfig* c) { c->learning_rate *= 2; };
                 return testing::RecordRun(dir, s);
               }});
  a.push_back({"another schedule (constant)", [](const std::string& dir, const RecordedRun&) {
                 RunSpec s = Spec();
                 s.provider_config = [](TrainConfig* c) { c->lr_scheduler_type = LrSchedule::kConstant; };
                 return testing::RecordRun(dir, s);
               }});
  a.push_back({"poisoned examples (5% relabelled)", [](const std::string& dir, const RecordedRun&) {
                 RunSpec s = Spec();
                 s.provider_data_jsonl = Sums(true, false);
                 return testing::RecordRun(dir, s);
               }});
  a.push_back({"data subset (half the examples)", [](const std::string& dir, const RecordedRun&) {
                 RunSpec s = Spec();
                 s.provider_data_jsonl = Sums(false, true);
                 return testing::RecordRun(dir, s);
               }});
  a.push_back({"weights rounded to bf16 after every step", [](const std::string& dir, const RecordedRun&) {
                 return testing::RecordRun(dir, Spec(), [](Trainer& t, int64_t done) {
                   if (done == 0) return;
                   Rewrite(t, done, [](const std::string&, Tensor* x) {
                     for (int64_t i = 0; i < x->numel(); ++i) (*x)[i] = BF16ToF32(F32ToBF16((*x)[i]));
                   });
                 });
               }});
  a.push_back({"substituted layer-block (block 2 at step 21)", [](const std::string& dir, const RecordedRun&) {
                 return testing::RecordRun(dir, Spec(), [](Trainer& t, int64_t done) {
                   if (done != 21) return;
                   Rewrite(t, done, [](const std::string& name, Tensor* x) {
                     if (LayerOfTensor(name) == 2)
                       for (int64_t i = 0; i < x->numel(); ++i) (*x)[i] = 0.5f * (*x)[i];
                   });
                 });
               }});
  a.push_back({"checkpoint edited after the commitment", [](const std::string&, const RecordedRun& honest) {
                 RecordedRun run = honest;
                 Tensor& x = run.states.at({20, 1}).at(LoraBName(1, Proj::kV));
                 x[3] = x[3] + 1e-3f;
                 return run;
               }});
  a.push_back({"edited step record, re-signed", [](const std::string&, const RecordedRun& honest) {
                 RecordedRun run = honest;
                 const uint64_t line = TraceLayout{kLayers, kStepsPerBlock, kSteps}.StepLine(15);
                 const std::string key = "\"loss\":{\"bits\":\"";
                 const size_t at = run.lines[line].find(key) + key.size() + 7;
                 run.lines[line][at] = run.lines[line][at] == '0' ? '1' : '0';
                 run.commitment.trace = testing::LinesRoot(run.lines);
                 testing::Resign(&run);
                 return run;
               }});
  a.push_back({"commitment replayed from another contract", [](const std::string& dir, const RecordedRun& honest) {
                 RunSpec s = Spec();
                 s.training.seed = 7;
                 RecordedRun other = testing::RecordRun(dir, s);
                 other.contract_path = honest.contract_path;
                 other.data_path = honest.data_path;
                 other.base_dir = honest.base_dir;
                 return other;
               }});
  return a;
}

std::vector<uint8_t> Nonce(int i, int s) { return {static_cast<uint8_t>(i), static_cast<uint8_t>(s), 0xa5}; }

AuditReport Audit(const RecordedRun& run, int64_t samples, const std::vector<uint8_t>& nonce) {
  testing::MemoryOpenings source(&run);
  return Must(AuditTraining(testing::AuditInputsOf(run, &source), {samples, nonce, ChallengeStrategy::kUniform, {}}),
              "audit");
}

// 1 - C(n-d, s)/C(n, s).
double HitProbability(int64_t n, int64_t d, int64_t s) {
  double miss = 1;
  for (int64_t i = 0; i < s; ++i) miss *= std::max(0.0, static_cast<double>(n - d - i) / static_cast<double>(n - i));
  return 1 - miss;
}

}  // namespace
}  // namespace aftune

int main(int argc, char** argv) {
  using namespace aftune;
  const int nonces = argc > 1 ? std::atoi(argv[1]) : 50;
  const std::string dir = argc > 2 ? argv[2] : (std::filesystem::temp_directory_path() / "aftune-attacks").string();
  std::filesystem::remove_all(dir);
  const RecordedRun honest = testing::RecordRun(dir + "/honest", Spec());
  const int64_t n = TraceLayout{kLayers, kStepsPerBlock, kSteps}.cells();
  std::printf("n = %lld cells (4 layer-blocks x 20 step-blocks); %d nonces per S; cells: detection rate "
              "(probability the draw hits a deviating cell)\n\n",
              static_cast<long long>(n), nonces);
  std::printf("| attack | deviating cells | caught by |");
  for (int s : kSampleSizes) std::printf(" S=%d |", s);
  std::printf("\n|---|---|---|");
  for (size_t i = 0; i < std::size(kSampleSizes); ++i) std::printf("---|");
  std::printf("\n");
  int inconsistent = 0, attack_no = 0;
  for (const Attack& attack : Attacks()) {
    const RecordedRun run = attack.make(dir + "/attack" + std::to_string(attack_no++), honest);
    const AuditReport full = Audit(run, n, {0});
    std::set<Cell> deviating;
    std::set<std::string> caught_by;
    bool global = false;
    for (const AuditCheck& c : full.checks) {
      if (c.passed) continue;
      caught_by.insert(c.check);
      if (c.cell) {
        deviating.insert(*c.cell);
      } else {
        global = true;
      }
    }
    std::string by;
    for (const std::string& c : caught_by) by += (by.empty() ? "" : ", ") + c;
    std::printf("| %s | %s | %s |", attack.name.c_str(),
                global ? "— (global check)" : (std::to_string(deviating.size()) + "/" + std::to_string(n)).c_str(),
                by.c_str());
    for (int s : kSampleSizes) {
      int detected = 0;
      for (int i = 0; i < nonces; ++i) {
        const AuditReport r = Audit(run, s, Nonce(i, s));
        bool drew = global;
        for (const Cell& c : r.cells) drew = drew || deviating.count(c);
        detected += !r.passed();
        inconsistent += drew != !r.passed();
      }
      const double expect = global ? 1.0 : HitProbability(n, static_cast<int64_t>(deviating.size()), s);
      std::printf(" %.2f (%.2f) |", static_cast<double>(detected) / nonces, expect);
    }
    std::printf("\n");
    std::fflush(stdout);
  }
  int false_positives = 0;
  for (int i = 0; i < nonces; ++i) false_positives += !Audit(honest, 8, Nonce(i, 200)).passed();
  std::printf("\nhonest run, S = 8: %d false positives in %d audits\n", false_positives, nonces);
  std::printf("audits whose verdict disagreed with \"drew a deviating cell or a global check failed\": %d\n",
              inconsistent);
  std::filesystem::remove_all(dir);
  return inconsistent == 0 && false_positives == 0 ? 0 : 1;
}
