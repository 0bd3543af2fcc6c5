// aftune train --config FILE --data FILE --out DIR [--model DIR]
#include <cstdio>
#include <memory>
#include <string>

#include "base/file.h"
#include "cli/commands.h"
#include "cli/progress.h"
#include "commit/digest.h"
#include "commit/sha256.h"
#include "model/adapter_dir.h"
#include "model/model_dir.h"
#include "model/tokenizer.h"
#include "train/checkpoint.h"
#include "train/dataset.h"
#include "train/trainer.h"

namespace aftune::cli {

namespace {

struct TrainArgs {
  std::string config, data, out, model;
};

// What a checkpoint must match to be resumed: configuration and data.
std::string RunIdentity(const TrainConfig& cfg, const std::string& data_bytes) {
  return TrainConfigToJson(cfg) + " dataset " + HashToHex(DatasetDigest(data_bytes));
}

Status WriteResult(const Trainer& t, const std::string& out) {
  const TrainConfig& cfg = t.config();
  if (cfg.full_finetune) {
    AFTUNE_RETURN_IF_ERROR(SaveModelDir(out + "/model", t.model_config(), t.trainable()));
    // The tokenizer travels with the model.
    if (FileExists(cfg.base_model + "/tokenizer.model")) {
      AFTUNE_ASSIGN_OR_RETURN(std::string tok, ReadFile(cfg.base_model + "/tokenizer.model"));
      AFTUNE_RETURN_IF_ERROR(WriteFileAtomic(out + "/model/tokenizer.model", tok));
    }
    std::printf("wrote %s/model (Hugging Face layout)\n", out.c_str());
  } else {
    AFTUNE_RETURN_IF_ERROR(SaveAdapterDir(out + "/adapter", cfg.lora, cfg.base_model, t.trainable()));
    std::printf("wrote %s/adapter (PEFT layout)\n", out.c_str());
  }
  return Status::Ok();
}

Status RunTrain(const TrainArgs& a) {
  AFTUNE_ASSIGN_OR_RETURN(TrainConfig cfg, ReadTrainConfig(a.config));
  if (!a.model.empty()) cfg.base_model = a.model;
  if (cfg.base_model.empty())
    return Status::InvalidArgument(a.config + ": no 'base_model' (or give --model DIR)");
  AFTUNE_ASSIGN_OR_RETURN(LoadedModel base, LoadModelDir(cfg.base_model));
  AFTUNE_ASSIGN_OR_RETURN(std::unique_ptr<Tokenizer> tok, LoadTokenizer(cfg.base_model, base.config));
  AFTUNE_ASSIGN_OR_RETURN(std::string data_bytes, ReadFile(a.data));
  AFTUNE_ASSIGN_OR_RETURN(Dataset data,
                          ParseJsonlDataset(data_bytes, a.data, *tok, {cfg.max_seq_length, cfg.overflow}));
  if (data.num_truncated > 0)
    std::printf("%s: %lld of %lld examples truncated to %lld tokens (overflow: truncate)\n", a.data.c_str(),
                (long long)data.num_truncated, (long long)data.size(), (long long)cfg.max_seq_length);
  AFTUNE_ASSIGN_OR_RETURN(std::unique_ptr<Trainer> trainer,
                          Trainer::Create(cfg, base.config, std::move(base.params), &data));
  AFTUNE_RETURN_IF_ERROR(MakeDirs(a.out));
  const std::string checkpoint = a.out + "/checkpoint.safetensors";
  const std::string identity = RunIdentity(cfg, data_bytes);
  Status resumed = ResumeFromCheckpoint(checkpoint, identity, trainer.get());
  if (resumed.ok()) {
    std::printf("resuming from %s at step %lld\n", checkpoint.c_str(), (long long)trainer->next_step());
  } else if (resumed.code() != Status::Code::kNotFound) {
    return resumed;
  }
  std::printf("training %s on %s: %lld examples, %lld steps of %lld examples, %s\n", cfg.base_model.c_str(),
              a.data.c_str(), (long long)data.size(), (long long)trainer->total_steps(),
              (long long)cfg.examples_per_step(),
              cfg.full_finetune ? "full fine-tuning" : ("LoRA r=" + std::to_string(cfg.lora.r)).c_str());
  Progress progress(trainer->total_steps(), cfg.logging_steps);
  while (trainer->next_step() < trainer->total_steps()) {
    AFTUNE_ASSIGN_OR_RETURN(StepReport r, trainer->RunStep());
    progress.Update(r.step + 1, r.loss, r.learning_rate, r.tokens);
    const int64_t done = trainer->next_step();
    if (cfg.save_steps > 0 && done % cfg.save_steps == 0 && done < trainer->total_steps())
      AFTUNE_RETURN_IF_ERROR(SaveCheckpoint(checkpoint, *trainer, identity));
  }
  progress.Finish();
  AFTUNE_RETURN_IF_ERROR(SaveCheckpoint(checkpoint, *trainer, identity));
  return WriteResult(*trainer, a.out);
}

}  // namespace

void RegisterTrainCommands(CLI::App& app) {
  auto args = std::make_shared<TrainArgs>();
  auto* c = app.add_subcommand("train", "fine-tune a model (LoRA or full) on a JSONL dataset");
  c->add_option("--config", args->config, "training configuration (JSON; see docs/training.md)")->required();
  c->add_option("--data", args->data, "JSONL dataset")->required();
  c->add_option("--out", args->out, "output directory (a rerun resumes from its checkpoint)")->required();
  c->add_option("--model", args->model, "base model directory (overrides the config's base_model)");
  AddThreadsOption(c);
  c->callback([args] { Finish(RunTrain(*args)); });
}

}  // namespace aftune::cli
