// What every check of one training audit shares, built once by the audit
// (audit/train_audit.h) after the commitment, the contract and the inputs
// have been verified: the job as the contract defines it, the trace's lines
// (each proven under the commitment's trace root) and their parsed records.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "protocol/record_parse.h"
#include "model/config.h"
#include "protocol/base_source.h"
#include "protocol/contract.h"
#include "protocol/trace_layout.h"
#include "train/dataset.h"
#include "train/schedule.h"
#include "train/train_config.h"

namespace aftune {

struct AuditContext {
  Contract contract;
  Hash contract_digest{};
  Hash trace_root{};
  TrainConfig cfg;  // ContractTrainConfig(contract, base->files_dir())
  ModelConfig model;
  BaseSource* base = nullptr;  // the base model's door (its slices are fetched as cells need them)
  std::unique_ptr<Dataset> data;
  std::vector<LayerSpan> blocks;  // LayerBlocks(model, B_L)
  TraceLayout layout;
  ScheduleConfig schedule;
  std::vector<std::string> lines;                                // every trace line, proven
  std::vector<ParsedStepRecord> steps;                           // [step]
  std::map<std::pair<int64_t, int64_t>, ParsedBlockState> states;  // (step, block)

  // The trainable tensor names of layer-block `block` and their shapes
  // (LoRA: the adapter's; full: the span's base tensors the block owns,
  // model/llama_names.h OwnedTensorShapes).
  std::map<std::string, std::vector<int64_t>> TrainableShapes(int64_t block) const;
};

// The state digest (commit/digest.h) of f32 tensors by name, each an
// F32TensorDigest — what a block-state record commits to.
Hash TensorMapStateDigest(const TensorMap& tensors);

}  // namespace aftune
