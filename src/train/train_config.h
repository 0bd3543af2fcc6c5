// The training configuration: what `aftune train --config FILE` reads. A
// plain JSON object whose keys are the training terms (train/training_terms.h:
// their names, defaults, ranges and meanings, also listed in
// docs/training.md): Hugging Face TrainingArguments' names, LoRA's those of
// PEFT's LoraConfig. Every key is optional (the defaults below give a short
// LoRA run); an unknown key, a wrong type, an out-of-range value or a LoRA
// term under method "full" is an error naming the key.
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"
#include "model/lora.h"
#include "train/adamw.h"
#include "train/dataset.h"
#include "train/schedule.h"

namespace aftune {

struct TrainConfig {
  std::string base_model;
  bool full_finetune = false;  // method "full"; else "lora"
  LoraConfig lora{8, 16.0, {Proj::kQ, Proj::kV}};
  std::string optim = "adamw_torch";  // TrainingArguments.optim: the only supported value
  double learning_rate = 1e-3;
  double weight_decay = 0.0;
  double adam_beta1 = 0.9, adam_beta2 = 0.999, adam_epsilon = 1e-8;
  double max_grad_norm = 1.0;  // <= 0: no clipping
  LrSchedule lr_scheduler_type = LrSchedule::kLinear;
  int64_t warmup_steps = 0;
  int64_t num_train_epochs = 1;
  int64_t max_steps = -1;
  int64_t per_device_train_batch_size = 8;
  int64_t gradient_accumulation_steps = 1;
  int64_t max_seq_length = 256;
  OverflowPolicy overflow = OverflowPolicy::kReject;
  uint64_t seed = 42;
  int64_t save_steps = 50;      // a resumable checkpoint every save_steps steps (0: only at the end)
  int64_t logging_steps = 10;   // plain log lines every logging_steps steps
  int64_t layers_per_block = 0;  // the model runs as blocks of this many layers (0: one block)

  int64_t examples_per_step() const { return per_device_train_batch_size * gradient_accumulation_steps; }
  AdamWConfig adamw() const;
};

// Parses the JSON text; `source` names the file in errors.
Result<TrainConfig> ParseTrainConfig(const std::string& json_text, const std::string& source);
Result<TrainConfig> ReadTrainConfig(const std::string& path);
// JSON with every term that applies (sorted keys): what checkpoints record to
// refuse resuming under another configuration.
std::string TrainConfigToJson(const TrainConfig& cfg);

}  // namespace aftune
