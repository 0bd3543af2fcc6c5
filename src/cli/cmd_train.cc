// aftune train --config FILE --data FILE --out DIR [--model DIR]
// aftune train --contract FILE --data FILE --key KEY --out DIR --model DIR
//   runs a training contract on inputs whose digests must match it, recording
//   DIR/trace.jsonl and signing DIR/commitment.note at the end.
// mpirun -np R aftune train ...: the same run on R ranks, same bits
//   (train/trainer.h, "Across ranks"). Rank 0 records, keeps the store, signs
//   and writes every output; the others only read (inputs and, to resume,
//   DIR's checkpoint: DIR must be visible to every rank).
#include <cstdio>
#include <memory>
#include <string>

#include "base/file.h"
#include "cli/commands.h"
#include "cli/progress.h"
#include "commit/digest.h"
#include "commit/sha256.h"
#include "dist/communicator.h"
#include "model/adapter_dir.h"
#include "model/model_dir.h"
#include "model/tokenizer.h"
#include "protocol/commitment.h"
#include "protocol/contract.h"
#include "protocol/input_digest.h"
#include "trace/recorder.h"
#include "trace/run_dir.h"
#include "trace/store_checkpoint.h"
#include "trace/tensor_store.h"
#include "train/checkpoint.h"
#include "train/dataset.h"
#include "train/trainer.h"

namespace aftune::cli {

namespace {

struct TrainArgs {
  std::string config, contract, key, data, out, model;
};

// What a checkpoint must match to be resumed: configuration and data.
std::string RunIdentity(const TrainConfig& cfg, const std::string& data_bytes) {
  return TrainConfigToJson(cfg) + " dataset " + HashToHex(DatasetDigest(data_bytes));
}

Status WriteResult(const Trainer& t, const std::string& out) {
  const TrainConfig& cfg = t.config();
  if (cfg.full_finetune) {
    AFTUNE_RETURN_IF_ERROR(SaveModelDir(out + "/model", t.model_config(), t.trainable()));
    // The tokenizer, chat template and generation defaults travel with the
    // model: they are part of what it is served and evaluated with.
    for (const char* name : {"tokenizer.json", "tokenizer.model", "tokenizer_config.json", "chat_template.jinja",
                             "special_tokens_map.json", "generation_config.json"}) {
      if (!FileExists(cfg.base_model + "/" + name)) continue;
      AFTUNE_ASSIGN_OR_RETURN(std::string bytes, ReadFile(cfg.base_model + "/" + name));
      AFTUNE_RETURN_IF_ERROR(WriteFileAtomic(out + "/model/" + name, bytes));
    }
    std::printf("wrote %s/model (Hugging Face layout)\n", out.c_str());
  } else {
    AFTUNE_RETURN_IF_ERROR(SaveAdapterDir(out + "/adapter", cfg.lora, cfg.base_model, t.trainable()));
    std::printf("wrote %s/adapter (PEFT layout)\n", out.c_str());
  }
  return Status::Ok();
}

// With a contract: its configuration, after checking the inputs against it.
Result<TrainConfig> ContractConfig(const TrainArgs& a, const Contract& c, const std::string& data_bytes) {
  if (a.model.empty()) return Status::InvalidArgument("--contract needs --model DIR (the base model it binds)");
  AFTUNE_ASSIGN_OR_RETURN(ModelDirDigests model, DigestModelDir(a.model));
  std::vector<ContractMismatch> bad = CompareContractInputs(c, a.model, model, a.data, DigestDatasetBytes(data_bytes));
  if (!bad.empty()) {
    std::string msg = a.contract + ": refusing to train";
    for (const ContractMismatch& m : bad) msg += "; " + m.ToString();
    return Status::Mismatch(msg);
  }
  return ContractTrainConfig(c, a.model);
}

Status RunTrain(const TrainArgs& a, Communicator* comm) {
  const bool writer = comm->rank() == 0;
  if (a.config.empty() == a.contract.empty())
    return Status::InvalidArgument("give exactly one of --config and --contract");
  if (!a.contract.empty() && a.key.empty()) return Status::InvalidArgument("--contract needs --key (the signing key)");
  AFTUNE_ASSIGN_OR_RETURN(std::string data_bytes, ReadFile(a.data));
  TrainConfig cfg;
  Contract contract;
  std::unique_ptr<PrivateKey> key;
  if (!a.contract.empty()) {
    AFTUNE_ASSIGN_OR_RETURN(contract, ReadContract(a.contract));
    AFTUNE_ASSIGN_OR_RETURN(PrivateKey k, ReadPrivateKeyFile(a.key));
    key = std::make_unique<PrivateKey>(std::move(k));
    AFTUNE_ASSIGN_OR_RETURN(cfg, ContractConfig(a, contract, data_bytes));
  } else {
    AFTUNE_ASSIGN_OR_RETURN(cfg, ReadTrainConfig(a.config));
    if (!a.model.empty()) cfg.base_model = a.model;
    if (cfg.base_model.empty())
      return Status::InvalidArgument(a.config + ": no 'base_model' (or give --model DIR)");
  }
  AFTUNE_ASSIGN_OR_RETURN(LoadedModel base, LoadModelDir(cfg.base_model));
  AFTUNE_ASSIGN_OR_RETURN(std::unique_ptr<Tokenizer> tok, LoadTokenizer(cfg.base_model, base.config));
  AFTUNE_ASSIGN_OR_RETURN(std::shared_ptr<const ChatRenderer> chat, LoadChatRenderer(cfg.base_model));
  AFTUNE_ASSIGN_OR_RETURN(Dataset data,
                          ParseJsonlDataset(data_bytes, a.data, *tok, {cfg.max_seq_length, cfg.overflow, chat}));
  if (data.num_truncated > 0 && writer)
    std::printf("%s: %lld of %lld examples truncated to %lld tokens (overflow: truncate)\n", a.data.c_str(),
                (long long)data.num_truncated, (long long)data.size(), (long long)cfg.max_seq_length);
  AFTUNE_ASSIGN_OR_RETURN(std::unique_ptr<Trainer> trainer,
                          Trainer::Create(cfg, std::move(base), &data));
  trainer->SetCommunicator(comm);
  if (writer) AFTUNE_RETURN_IF_ERROR(MakeDirs(a.out));
  comm->Barrier();  // DIR exists for every rank
  const std::string checkpoint = a.out + "/checkpoint.safetensors";
  const std::string identity = RunIdentity(cfg, data_bytes);
  const RunDir run{a.out};
  TensorStore store(run.store());
  Status resumed = ResumeFromCheckpoint(checkpoint, identity, trainer.get(), StoreStatesLoader(store));
  if (resumed.ok()) {
    if (writer) std::printf("resuming from %s at step %lld\n", checkpoint.c_str(), (long long)trainer->next_step());
  } else if (resumed.code() != Status::Code::kNotFound) {
    return resumed;
  }
  if (!writer) {  // the steps only: every rank must run each of them
    while (trainer->next_step() < trainer->total_steps()) AFTUNE_RETURN_IF_ERROR(trainer->RunStep().status());
    return Status::Ok();
  }
  std::printf("training %s on %s: %lld examples, %lld steps of %lld examples, %s%s\n", cfg.base_model.c_str(),
              a.data.c_str(), (long long)data.size(), (long long)trainer->total_steps(),
              (long long)cfg.examples_per_step(),
              cfg.full_finetune ? "full fine-tuning" : ("LoRA r=" + std::to_string(cfg.lora.r)).c_str(),
              comm->size() > 1 ? (", " + std::to_string(comm->size()) + " ranks").c_str() : "");
  std::unique_ptr<TraceRecorder> recorder;
  if (key) {
    AFTUNE_RETURN_IF_ERROR(WriteContract(run.contract(), contract));
    AFTUNE_RETURN_IF_ERROR(WriteRunInputs(run, {a.model, a.data}));
    AFTUNE_ASSIGN_OR_RETURN(recorder,
                            TraceRecorder::Open(run.trace(), ContractDigest(contract), contract.grid, &store, *trainer));
  }
  // A recorded run's checkpoint names the state the store kept at that step
  // (a contract's checkpoints fall exactly there) instead of a second copy.
  auto save_checkpoint = [&]() -> Status {
    if (const std::vector<Hash>* kept = recorder ? recorder->KeptStates(trainer->next_step()) : nullptr)
      return SaveCheckpointRef(checkpoint, *trainer, identity, StoreStatesRef(*kept));
    return SaveCheckpoint(checkpoint, *trainer, identity);
  };
  Progress progress(trainer->total_steps(), cfg.logging_steps);
  while (trainer->next_step() < trainer->total_steps()) {
    AFTUNE_ASSIGN_OR_RETURN(StepReport r, trainer->RunStep(recorder.get()));
    if (recorder) AFTUNE_RETURN_IF_ERROR(recorder->EndStep(r, *trainer));
    progress.Update(r.step + 1, r.loss, r.learning_rate, r.tokens);
    const int64_t done = trainer->next_step();
    if (cfg.save_steps > 0 && done % cfg.save_steps == 0 && done < trainer->total_steps())
      AFTUNE_RETURN_IF_ERROR(save_checkpoint());
  }
  progress.Finish();
  AFTUNE_RETURN_IF_ERROR(save_checkpoint());
  AFTUNE_RETURN_IF_ERROR(WriteResult(*trainer, a.out));
  if (!recorder) return Status::Ok();
  // The full model may be sharded: its directory's weight files, any layout.
  const std::string weights = cfg.full_finetune ? a.out + "/model" : a.out + "/adapter/adapter_model.safetensors";
  AFTUNE_ASSIGN_OR_RETURN(Hash delivered, WeightsStateDigest(weights));
  TrainingCommitment c{ContractDigest(contract), recorder->root(),    recorder->records(),
                       static_cast<uint64_t>(trainer->total_steps()), FinalStateDigest(*trainer),
                       delivered};
  AFTUNE_RETURN_IF_ERROR(WriteCommitment(run.commitment(), c, *key));
  std::printf("wrote %s\ntrace %s  %llu records; %.1f MB of tensors written to %s\n", run.commitment().c_str(),
              HashToHex(c.trace).c_str(), (unsigned long long)c.records, store.bytes_written() / 1e6,
              run.store().c_str());
  return Status::Ok();
}

}  // namespace

void RegisterTrainCommands(CLI::App& app) {
  auto args = std::make_shared<TrainArgs>();
  auto* c = app.add_subcommand("train", "fine-tune a model (LoRA or full) on a JSONL dataset");
  c->add_option("--config", args->config, "training configuration (JSON; see docs/training.md)");
  c->add_option("--contract", args->contract, "training contract (aftune contract create); records a trace and signs a commitment");
  c->add_option("--key", args->key, "provider signing key (aftune keygen), with --contract");
  c->add_option("--data", args->data, "JSONL dataset")->required();
  c->add_option("--out", args->out, "output directory (a rerun resumes from its checkpoint)")->required();
  c->add_option("--model", args->model, "base model directory (overrides the config's base_model)");
  AddThreadsOption(c);
  c->callback([args] {
    Result<std::unique_ptr<Communicator>> comm = JoinJob();
    if (!comm.ok()) return Finish(comm.status());
    Status st = RunTrain(*args, comm->get());
    // A failing rank stops the others, which would otherwise wait on it.
    if (!st.ok() && (*comm)->size() > 1) (*comm)->Abort(st.ToString());
    comm->reset();  // finalises MPI
    Finish(st);
  });
}

}  // namespace aftune::cli
