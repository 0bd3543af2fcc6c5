// A recorded training run held in memory, for the audit's tests and the
// adversarial evaluation (eval/train_attacks_eval.cc): the provider's side.
// RecordRun trains a small contract with the trainer and the trace recorder,
// keeps every boundary tensor and every committed block state, delivers the
// weights and signs the commitment; MemoryOpenings answers an auditor from
// it. A `Deviation` lets a dishonest provider change the trainer's state
// after any step (the trace then records what it did). Header-only; aborts
// on any setup failure (test code).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "audit/train_audit.h"
#include "base/file.h"
#include "commit/encoding.h"
#include "commit/merkle.h"
#include "model/adapter_dir.h"
#include "model/model_dir.h"
#include "model/model_init.h"
#include "protocol/commitment.h"
#include "protocol/contract.h"
#include "protocol/input_digest.h"
#include "trace/recorder.h"
#include "train/trainer.h"

namespace aftune::testing {

template <typename T>
T Must(Result<T> r, const char* what) {
  if (!r.ok()) {
    std::fprintf(stderr, "%s: %s\n", what, r.status().ToString().c_str());
    std::abort();
  }
  return std::move(r).value();
}
inline void Must(const Status& s, const char* what) {
  if (!s.ok()) {
    std::fprintf(stderr, "%s: %s\n", what, s.ToString().c_str());
    std::abort();
  }
}

struct RunSpec {
  ModelConfig model;
  uint64_t model_seed = 3;
  TrainConfig training;
  AuditGrid grid;
  std::string data_jsonl;
  Ed25519Seed key_seed{};
  // A dishonest provider's own choices (empty: as the contract says): the
  // data it really trains on, and changes to the configuration it runs.
  std::string provider_data_jsonl;
  std::function<void(TrainConfig*)> provider_config;
};

// Called with done = 0 before the first step and after optimizer step
// done - 1 (the trainer's next_step() is `done`), before the trace records
// the states of `done`: may Restore a changed state into the trainer.
using Deviation = std::function<void(Trainer& trainer, int64_t done)>;

struct RecordedRun {
  std::string dir, base_dir, data_path, contract_path, weights_path;
  std::shared_ptr<BaseSource> base;  // base_dir as the audit reads it
  Ed25519Seed key_seed{};
  PublicKey provider;
  std::string note;
  TrainingCommitment commitment;
  std::vector<std::string> lines;
  std::map<std::pair<int64_t, int64_t>, TensorMap> states;  // (state step, block)
  std::map<std::tuple<int64_t, int64_t, BoundaryKind>, std::vector<Tensor>> boundaries;  // (step, boundary, kind)

  PrivateKey key() const { return Must(PrivateKey::FromSeed("example.com/provider", key_seed), "key"); }
};

// Sends the trainer's boundary tensors to the recorder and keeps them.
class KeepingObserver : public StepObserver {
 public:
  KeepingObserver(StepObserver* recorder, RecordedRun* run) : recorder_(recorder), run_(run) {}
  void OnActivation(int64_t step, int64_t micro, int64_t b, const Tensor& x) override {
    recorder_->OnActivation(step, micro, b, x);
    run_->boundaries[{step, b, BoundaryKind::kActivation}].push_back(x);
  }
  void OnGradient(int64_t step, int64_t micro, int64_t b, const Tensor& dx) override {
    recorder_->OnGradient(step, micro, b, dx);
    run_->boundaries[{step, b, BoundaryKind::kGradient}].push_back(dx);
  }
  void OnGradients(int64_t step, const TensorMap& grads) override { recorder_->OnGradients(step, grads); }

 private:
  StepObserver* recorder_;
  RecordedRun* run_;
};

inline std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> out;
  for (size_t pos = 0; pos < text.size();) {
    size_t nl = text.find('\n', pos);
    out.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return out;
}

inline Hash LinesRoot(const std::vector<std::string>& lines) {
  std::vector<Hash> leaves;
  for (const std::string& l : lines)
    leaves.push_back(LeafHash(AsBytes(l)));
  return MerkleRoot(leaves);
}

// Signs `run->commitment` again (after a dishonest provider changed it).
inline void Resign(RecordedRun* run) {
  run->note = Must(SignCommitment(run->commitment, run->key()), "sign");
}

// Writes the base model and the dataset under `dir`, builds the contract
// and records the run.
inline RecordedRun RecordRun(const std::string& dir, const RunSpec& spec, const Deviation& deviate = {}) {
  RecordedRun run;
  run.dir = dir;
  run.base_dir = dir + "/base";
  run.base = std::make_shared<ModelDirBase>(run.base_dir);
  run.data_path = dir + "/data.jsonl";
  run.contract_path = dir + "/contract.json";
  run.key_seed = spec.key_seed;
  run.provider = run.key().public_key();
  Must(MakeDirs(dir), "mkdir");
  Must(SaveModelDir(run.base_dir, spec.model, InitModel(spec.model, spec.model_seed)), "model");
  Must(WriteFileAtomic(run.data_path, spec.data_jsonl), "data");
  const Contract contract = Must(BuildContract(run.base_dir, run.data_path, spec.training, spec.grid), "contract");
  Must(WriteContract(run.contract_path, contract), "write contract");
  TrainConfig cfg = ContractTrainConfig(contract, run.base_dir);
  if (spec.provider_config) spec.provider_config(&cfg);
  LoadedModel base = Must(LoadModelDir(run.base_dir), "load model");
  auto tok = Must(LoadTokenizer(run.base_dir, base.config), "tokenizer");
  const std::string& trained_on = spec.provider_data_jsonl.empty() ? spec.data_jsonl : spec.provider_data_jsonl;
  const Dataset data =
      Must(ParseJsonlDataset(trained_on, run.data_path, *tok, {cfg.max_seq_length, cfg.overflow}), "data");
  auto trainer = Must(Trainer::Create(cfg, std::move(base), &data), "trainer");
  if (deviate) deviate(*trainer, 0);
  auto recorder = Must(TraceRecorder::Open(dir + "/trace.jsonl", ContractDigest(contract), spec.grid, nullptr,
                                           *trainer),
                       "recorder");
  KeepingObserver keep(recorder.get(), &run);
  const TraceLayout layout{static_cast<int64_t>(trainer->blocks().size()), spec.grid.steps_per_block,
                           trainer->total_steps()};
  auto keep_states = [&](int64_t step) {
    for (size_t k = 0; k < trainer->blocks().size(); ++k)
      run.states[{step, static_cast<int64_t>(k)}] = BlockStateTensors(*trainer, k);
  };
  keep_states(0);
  while (trainer->next_step() < trainer->total_steps()) {
    const StepReport r = Must(trainer->RunStep(&keep), "step");
    if (deviate) deviate(*trainer, r.step + 1);
    Must(recorder->EndStep(r, *trainer), "record");
    if (layout.is_state_step(r.step + 1)) keep_states(r.step + 1);
  }
  if (cfg.full_finetune) {
    Must(SaveModelDir(dir + "/model", trainer->model_config(), trainer->trainable()), "save model");
    run.weights_path = dir + "/model/model.safetensors";
  } else {
    Must(SaveAdapterDir(dir + "/adapter", cfg.lora, run.base_dir, trainer->trainable()), "save adapter");
    run.weights_path = dir + "/adapter/adapter_model.safetensors";
  }
  const SafetensorsFile delivered = Must(SafetensorsFile::Read(run.weights_path), "weights");
  run.commitment = {ContractDigest(contract),   recorder->root(),           recorder->records(),
                    static_cast<uint64_t>(trainer->total_steps()), FinalStateDigest(*trainer),
                    SafetensorsStateDigest(delivered)};
  Resign(&run);
  run.lines = SplitLines(Must(ReadFile(dir + "/trace.jsonl"), "trace"));
  return run;
}

// Answers an auditor from a RecordedRun (which must outlive it).
class MemoryOpenings : public OpeningSource {
 public:
  explicit MemoryOpenings(const RecordedRun* run) : run_(run) {
    for (const std::string& l : run->lines)
      leaves_.push_back(LeafHash(AsBytes(l)));
  }
  Result<std::vector<OpenedLine>> Lines(std::span<const uint64_t> indices) override {
    std::vector<OpenedLine> out;
    for (uint64_t i : indices) {
      if (i >= leaves_.size()) return Status::NotFound("no trace line " + std::to_string(i));
      out.push_back({i, run_->lines[i], MakeInclusionProof(leaves_, i)});
    }
    return out;
  }
  Result<TensorMap> BlockState(int64_t step, int64_t block) override {
    auto it = run_->states.find({step, block});
    if (it == run_->states.end()) return Status::NotFound("no state of block " + std::to_string(block));
    return it->second;
  }
  Result<std::vector<Tensor>> Boundary(int64_t step, int64_t boundary, BoundaryKind kind) override {
    auto it = run_->boundaries.find({step, boundary, kind});
    if (it == run_->boundaries.end()) return Status::NotFound("no boundary " + std::to_string(boundary));
    return it->second;
  }

 private:
  const RecordedRun* run_;
  std::vector<Hash> leaves_;
};

// The audit inputs of `run` read through `source`.
inline TrainAuditInputs AuditInputsOf(const RecordedRun& run, OpeningSource* source) {
  return {run.contract_path, run.note, run.provider, run.data_path, run.weights_path, source, run.base.get()};
}

// A prompt/completion JSONL of a+b for a < a_count, b < b_count.
inline std::string SumsJsonl(int a_count, int b_count) {
  std::string s;
  for (int a = 0; a < a_count; ++a)
    for (int b = 0; b < b_count; ++b)
      s += "{\"prompt\": \"" + std::to_string(a) + "+" + std::to_string(b) + "=\", \"completion\": \"" +
           std::to_string(a + b) + "\"}\n";
  return s;
}

}  // namespace aftune::testing
