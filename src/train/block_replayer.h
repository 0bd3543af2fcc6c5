// One layer-block of a training run re-executed on its own: an auditor's
// cell of the audit grid (DESIGN.md, "The audit grid"). It holds only the
// block's base tensors and its state, and runs the very parts the trainer
// composes (train/step_batch.h, train/block_passes.h, train/step_update.h),
// so from the same start state and the same tensors at its edges it
// reproduces bit for bit what the whole-model trainer computed for the block:
// the boundary tensors it produces, the sums of squares of its gradients, the
// global gradient norm (rebuilt from its own sums and the other blocks'), the
// loss (last block) and its state after each step — whatever the thread count.
//
// State: the block's trainable tensors "<name>" and their AdamW moments
// "<name>.exp_avg", "<name>.exp_avg_sq" (as the trace's block-state records
// digest them). The trainable tensors of a block: with LoRA, the adapter
// tensors of its layers; with full fine-tuning, the base tensors its span
// runs and owns (model/llama_names.h OwnedTensorShapes).
//
// Full fine-tuning of a model with tied embeddings cut into B > 1 blocks:
// the first block (lookup) and the last (head) both update the embedding,
// which the first block's state holds, their contributions interleaving per
// micro-batch; neither replays alone, so the two replay together
// (ReplayGroup), from both start states, and give both end states.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "model/decoder.h"
#include "train/adamw.h"
#include "train/block_passes.h"
#include "train/dataset.h"
#include "train/schedule.h"
#include "train/train_config.h"
#include "train/trainer.h"

namespace aftune {

// What one replayed step of one block computed.
struct BlockStepReport {
  StepReport step;  // loss is set only when the block is the model's last
  // (tensor name, SumOfSquares of its accumulated, unclipped gradient) for
  // the block's trainable tensors, in name order.
  std::vector<std::pair<std::string, double>> grad_sumsq;
};

// The blocks a cell of layer-block `block` (of num_blocks) re-executes
// together: {block}, or {0, num_blocks - 1} (ascending) for block 0 or the
// last of a tied model's full fine-tuning as above.
std::vector<size_t> ReplayGroup(const TrainConfig& cfg, const ModelConfig& model, size_t num_blocks, size_t block);

class BlockReplayer {
 public:
  // blocks: the run's layer-blocks (LayerBlocks(model, B_L)); block: the one
  // replayed; base: its span's base tensors as stored (BaseTensorShapes; not
  // copied: it must outlive the replayer and not change; with full
  // fine-tuning they are all in the state and base is not read);
  // state: its state at optimizer step `step`; total_steps: the run's (for
  // the schedule). Errors: kCorruption naming a tensor the state lacks, has
  // in excess or has in another shape; kInvalidArgument when the block does
  // not replay alone (ReplayGroup).
  static Result<std::unique_ptr<BlockReplayer>> Create(const TrainConfig& cfg, const ModelConfig& model,
                                                       const std::vector<LayerSpan>& blocks, size_t block,
                                                       const WeightMap* base, TensorMap state, int64_t step,
                                                       int64_t total_steps, const Dataset* data);
  // The same for the blocks of ReplayGroup(cfg, model, blocks.size(), group[0]),
  // states[i] the state of block group[i].
  static Result<std::unique_ptr<BlockReplayer>> CreateGroup(const TrainConfig& cfg, const ModelConfig& model,
                                                            const std::vector<LayerSpan>& blocks,
                                                            const std::vector<size_t>& group, const WeightMap* base,
                                                            std::vector<TensorMap> states, int64_t step,
                                                            int64_t total_steps, const Dataset* data);

  int64_t next_step() const { return optimizer_->step(); }
  const std::vector<size_t>& group() const { return group_; }

  // Replays optimizer step next_step() for the block. edges: the tensors the
  // trainer passed it (train/block_passes.h). other_sumsq: the SumOfSquares
  // of every trainable tensor of the other blocks, by name (from the step
  // record); the norm is NormFromSumsOfSquares of these and the block's own,
  // in name order. The observer sees the boundary tensors the blocks produce
  // and (OnGradients) their accumulated gradients; grad_sumsq lists every
  // trainable tensor of the group.
  // REQUIRES: next_step() < total_steps; edges as BlockPasses needs them.
  // kInvalidArgument (and no update) when the norm or the loss is not finite.
  Result<BlockStepReport> RunStep(const BlockEdges& edges, const std::map<std::string, double>& other_sumsq,
                                  StepObserver* observer);

  // The state of held block `block`, named as above. Valid until the next
  // RunStep. State(): that of the only held block (REQUIRES: one).
  TensorMap State(size_t block) const;
  TensorMap State() const;

 private:
  BlockReplayer() = default;

  TrainConfig cfg_;
  ModelConfig model_;
  std::vector<LayerSpan> blocks_;
  std::vector<size_t> group_;
  const Dataset* data_ = nullptr;
  ScheduleConfig schedule_;
  TensorMap params_;  // the block's trainable tensors
  TensorMap grads_;
  std::unique_ptr<AdamW> optimizer_;
  std::vector<std::unique_ptr<Decoder>> decoders_;  // per held block
  std::unique_ptr<BlockPasses> passes_;
};

}  // namespace aftune
