// The forward and backward passes of one optimizer step through a set of
// layer-blocks of a model cut into B layer-blocks (DESIGN.md, "The audit
// grid"): all of them for the trainer, one of them (or, for full
// fine-tuning of a tied model, the first and the last: train/block_replayer.h)
// for an auditor re-executing a cell.
//
// Per micro-batch m of the step, in order:
//   forward   the held blocks in ascending order: block 0 starts from the
//             tokens, a block whose predecessor is held from that block's
//             output, any other from edges.activations[b][m]
//   backward  the held blocks in descending order: the model's last block
//             starts from the loss (objective loss_scale * sum of the
//             micro-batch's token losses), a block whose successor is held
//             from that block's input gradient, any other from
//             edges.gradients[b][m], the gradient of its output; gradients
//             accumulate into *grads (tensors absent from *grads are not
//             trained)
// The observer sees every boundary tensor the run produces: the output
// activation of each held block b < B-1 (boundary b+1) and the input
// gradient of each held block b > 0 (boundary b) — for the whole model,
// boundaries 1..B-1 exactly as StepObserver describes them.
//
// Each block does the same operations in the same order whichever run holds
// it, and the blocks' passes interleave per micro-batch as in the whole
// model, so a set of blocks run from recorded edge tensors reproduces its
// part of the whole-model step bit for bit (model/decoder.h) — a tensor
// two held blocks both update (a tied embedding) included.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "model/decoder.h"
#include "train/step_batch.h"
#include "train/trainer.h"

namespace aftune {

// The tensors that enter a run from outside it, one per micro-batch, by the
// held block they enter.
struct BlockEdges {
  // activations[b]: the input of held block b > 0 whose predecessor is not
  // held. REQUIRED for each such block.
  std::map<size_t, const std::vector<Tensor>*> activations;
  // gradients[b]: the gradient of the output of held block b < B-1 whose
  // successor is not held. REQUIRED for each such block.
  std::map<size_t, const std::vector<Tensor>*> gradients;
};

class BlockPasses {
 public:
  // decoders: the held blocks' decoders (not owned; they must outlive this
  // object); blocks: their indices among the B blocks, ascending.
  // REQUIRES: decoders.size() == blocks.size() > 0, blocks ascending and < num_blocks.
  BlockPasses(std::vector<const Decoder*> decoders, std::vector<size_t> blocks, size_t num_blocks);

  bool holds_first() const { return blocks_.front() == 0; }
  bool holds_last() const { return blocks_.back() + 1 == num_blocks_; }

  // Runs the passes of `batch` as above, each micro-batch's backward with its
  // halves interleaved (Decoder::BackwardScaled). Returns the f32 sum, in
  // micro-batch order from 0, of the micro-batches' token-loss sums when the
  // run holds the last block, else 0. REQUIRES: the edges the run needs, each
  // with one tensor per micro-batch of the right shape.
  float ForwardBackward(const StepBatch& batch, const BlockEdges& edges, TensorMap* grads, StepObserver* observer);

  // The same passes cut in two, for a rank of a data-parallel step
  // (train/trainer.h, "Across ranks"). First DataPasses: the forward and the
  // data half of the backward (model/decoder.h, "The backward in two halves")
  // of micro-batches [begin, end) in order, keeping each one's activations
  // and weight-gradient operands (memory: end - begin micro-batches' worth);
  // the observer sees their boundary tensors as ForwardBackward shows them.
  // Then the weight halves, unit by unit in the units' order, each unit for
  // the kept micro-batches in order: continuing grads as the micro-batches
  // before `begin` left them gives ForwardBackward's bits.
  // REQUIRES: begin <= end <= batch.micro.size().
  void DataPasses(const StepBatch& batch, const BlockEdges& edges, size_t begin, size_t end, StepObserver* observer);
  // loss_sum (the token-loss sums of the micro-batches before `begin`)
  // continued with the kept micro-batches', in order; unchanged when the run
  // does not hold the last block.
  float ContinueLossSum(float loss_sum) const;
  // The units: the held blocks' pieces (Decoder::GradPieces) from the top
  // block down, one a unit, except that a tied embedding's head piece and
  // embedding piece are one unit (both update its gradient, head first in
  // each micro-batch).
  size_t num_units() const { return units_.size(); }
  // The tensors of `grads` that unit u writes, in grads' order.
  std::vector<std::string> UnitTensors(size_t u, const TensorMap& grads) const;
  // Adds unit u's weight gradients of the kept micro-batches into grads.
  // REQUIRES: DataPasses since the last ForwardBackward; u < num_units().
  void AccumulateUnit(size_t u, const StepBatch& batch, TensorMap* grads) const;

 private:
  struct Piece {
    size_t held;  // index into decoders_
    Decoder::GradPiece piece;
  };
  // Micro-batch m's forward / backward through the held blocks into the
  // activations acts_[i][k]; the backward's halves interleaved into grads,
  // or (grads == nullptr) the data half alone.
  void Forward(const StepBatch& batch, const BlockEdges& edges, size_t m, size_t k, StepObserver* observer);
  void Backward(const StepBatch& batch, const BlockEdges& edges, size_t m, size_t k, TensorMap* grads,
                StepObserver* observer);

  std::vector<const Decoder*> decoders_;
  std::vector<size_t> blocks_;
  size_t num_blocks_ = 0;
  std::vector<std::vector<Piece>> units_;
  // acts_[i][k]: held block i's activations of micro-batch kept_begin_ + k
  // (ForwardBackward reuses k = 0 for every micro-batch). The data half's
  // buffers (MoveDataHalfBuffers) are in acts_[i][scratch_at_[i]] only.
  std::vector<std::vector<Activations>> acts_;
  std::vector<size_t> scratch_at_;
  size_t kept_begin_ = 0, kept_end_ = 0;
};

}  // namespace aftune
