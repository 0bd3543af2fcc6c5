// The training loop: one optimizer step at a time, each a pure function of the
// trainable state, the dataset, the configuration and the step number — so a
// run resumed from a checkpoint continues bit for bit, and an auditor can
// replay any step.
//
// One optimizer step s:
//   indices = StepIndices(seed, examples, batch * accumulation, s)
//   split in order into micro-batches of per_device_train_batch_size examples
//   count   = scored target tokens of all micro-batches
//   for each micro-batch: forward through the layer-blocks, backward with
//     objective (sum of its token losses) / count, gradients accumulating
//   loss = (sum of all token losses) / count
//   grad_norm = GlobalGradNorm(grads); clip to max_grad_norm (when > 0)
//   lr = LearningRate(schedule, s); AdamW step
//
// Across ranks (mpirun; docs/scaling.md): R ranks share each step's
// micro-batches, rank r the contiguous range RankMicros(M, R, r), and give
// the single-process bits for every R (train/rank_exchange.h RankStep). Only
// the weight gradients form a chain (one f32 chain per element over the
// step's tokens, micro-batch after micro-batch); activation gradients of
// different micro-batches are independent. So every rank first runs, at the
// same time as the others, the forward and the data half of the backward of
// its micro-batches (model/decoder.h, "The backward in two halves"), keeping
// their weight-gradient operands; then the weight halves, unit by unit (the
// head, each layer from the top, the embedding: BlockPasses' units): rank r
// receives a unit's partial sums as ranks 0..r-1 left them, continues them
// through its micro-batches in order, hands them to rank r+1 and goes on
// with the next unit, so the chain is pipelined with one unit's delay a
// rank. The loss sum is handed on the same way. The last rank relays each
// finished unit to the others as it finishes it; every rank then runs the
// identical norm, clip and AdamW step, so all hold the same state. One process (R = 1) runs each
// micro-batch's halves interleaved, layer by layer: the same operations on
// the same operands in the same per-element order, holding one
// micro-batch's activations. Rank 0's observer sees every boundary tensor in
// single-process order: its own live, then each later rank's, sent to it
// after the step's chain.
// The model runs as layer-blocks of layers_per_block layers (DESIGN.md, "The
// audit grid"); a StepObserver sees every boundary tensor as it is produced.
// The step is composed of parts an auditor also runs for one layer-block
// alone (train/block_replayer.h): train/step_batch.h (the batch),
// train/block_passes.h (forward and backward), train/step_update.h (clip and
// AdamW).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "model/decoder.h"
#include "model/model_dir.h"
#include "train/adamw.h"
#include "train/dataset.h"
#include "train/schedule.h"
#include "train/step_batch.h"
#include "train/train_config.h"

namespace aftune {

class BlockPasses;
class Communicator;
class RankStep;

struct StepReport {
  int64_t step = 0;                  // 0-based optimizer step
  int64_t epoch = 0;
  std::vector<int64_t> indices;      // the examples of the step, in order
  float loss = 0.0f;                 // mean over scored tokens
  float grad_norm = 0.0f;            // before clipping
  // (tensor, SumOfSquares of its accumulated gradient before clipping) for
  // every trainable tensor in name order: what grad_norm reduces.
  std::vector<std::pair<std::string, double>> grad_sumsq;
  float learning_rate = 0.0f;
  int64_t tokens = 0;                // input tokens processed
  int64_t scored_tokens = 0;
  int64_t micro_batches = 0;         // the step's micro-batches (StepBatch::micro)
};

// The report fields that describe `batch` itself (step, epoch, indices,
// token counts, micro-batches); the caller adds what the step computed.
StepReport BatchReport(const StepBatch& batch);

// Sees the tensors crossing layer-block boundaries during a step. Boundary b
// (1 <= b < num_blocks) is the input of block b. Called on the training
// thread; the tensors are valid during the call only.
class StepObserver {
 public:
  virtual ~StepObserver() = default;
  virtual void OnActivation(int64_t step, int64_t micro, int64_t boundary, const Tensor& x) = 0;
  virtual void OnGradient(int64_t step, int64_t micro, int64_t boundary, const Tensor& dx) = 0;
  // The accumulated gradients of every trainable tensor after the last
  // micro-batch, before clipping and the optimizer step (what GlobalGradNorm
  // reduces). Valid during the call only. Until it returns, the step has not
  // changed the trainable tensors or the optimizer state: an observer may
  // read them from another thread meanwhile (trace/recorder.h does).
  virtual void OnGradients(int64_t /*step*/, const TensorMap& /*grads*/) {}
};

class Trainer {
 public:
  // base: every base tensor of the model (moved in). The trainable state
  // starts from the base (full) or the seed-determined LoRA initialisation.
  static Result<std::unique_ptr<Trainer>> Create(const TrainConfig& cfg, const ModelConfig& model,
                                                 TensorMap base, const Dataset* data);
  // The same from a loaded model directory: LoRA reads the frozen base as
  // stored (bf16 stays bf16, mapped); full fine-tuning widens it to its f32
  // master weights.
  static Result<std::unique_ptr<Trainer>> Create(const TrainConfig& cfg, LoadedModel base, const Dataset* data);
  ~Trainer();

  int64_t total_steps() const { return total_steps_; }
  int64_t next_step() const { return optimizer_->step(); }
  const TrainConfig& config() const { return cfg_; }
  const ModelConfig& model_config() const { return model_; }
  const std::vector<LayerSpan>& blocks() const { return spans_; }

  // Runs optimizer step next_step(). An error (and no update) when the loss
  // or the gradient norm is not finite. REQUIRES: next_step() < total_steps().
  Result<StepReport> RunStep(StepObserver* observer = nullptr);

  // Runs the following steps as one rank of `comm` (not owned; null or one
  // rank: the single-process step). Every rank must call RunStep for every
  // step; only rank 0's observer is called.
  void SetCommunicator(Communicator* comm);

  // The trainable tensors (the adapter, or the whole model) and the optimizer.
  const TensorMap& trainable() const { return *trainable_; }
  const AdamW& optimizer() const { return *optimizer_; }
  // Replaces trainable tensors and optimizer state with a checkpoint's.
  // kCorruption when names or shapes differ from this run's.
  Status Restore(TensorMap trainable, TensorMap optimizer_state, int64_t step);

 private:
  Trainer() = default;
  static Result<std::unique_ptr<Trainer>> CreateImpl(const TrainConfig& cfg, const ModelConfig& model,
                                                     TensorMap base, LoadedModel mapped, const Dataset* data);
  Status BuildDecoders();

  TrainConfig cfg_;
  ModelConfig model_;
  const Dataset* data_ = nullptr;
  TensorMap base_;               // f32 base (full fine-tuning: trained in place)
  LoadedModel mapped_;           // or the frozen base as stored (LoRA from a model directory)
  WeightMap base_views_;         // views of base_ or mapped_, what the decoders read
  TensorMap adapter_;            // LoRA tensors (empty for full fine-tuning)
  TensorMap* trainable_ = nullptr;  // &adapter_ or &base_
  std::unique_ptr<AdamW> optimizer_;
  ScheduleConfig schedule_;
  int64_t total_steps_ = 0;
  std::vector<LayerSpan> spans_;
  std::vector<std::unique_ptr<Decoder>> decoders_;
  std::unique_ptr<BlockPasses> passes_;  // over all of decoders_
  TensorMap grads_;
  std::unique_ptr<RankStep> rank_step_;  // with a communicator of several ranks
};

// Optimizer steps of the whole job: max_steps when > 0, else epochs x
// StepsPerEpoch.
int64_t TotalSteps(const TrainConfig& cfg, int64_t num_examples);

// The layer-blocks of layers_per_block layers (0, or at least the layer
// count: one block of all layers).
std::vector<LayerSpan> LayerBlocks(const ModelConfig& model, int64_t layers_per_block);

}  // namespace aftune
