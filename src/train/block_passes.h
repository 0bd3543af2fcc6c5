// The forward and backward passes of one optimizer step through a run of
// consecutive layer-blocks [first, first + n) of a model cut into B
// layer-blocks (DESIGN.md, "The audit grid"): all of them for the trainer,
// one of them for an auditor re-executing a cell.
//
// Per micro-batch m of the step, in order:
//   forward   block first .. first+n-1: the first held block starts from the
//             tokens (first == 0) or from edges.activations[m]; the output
//             of the last held block, when it is not the model's last, is
//             the activation at boundary first+n
//   backward  block first+n-1 .. first: the last held block starts from the
//             loss (the model's last block: objective loss_scale * sum of
//             the micro-batch's token losses) or from edges.gradients[m],
//             the gradient of its output; gradients accumulate into *grads
//             (tensors absent from *grads are not trained)
// The observer sees every boundary tensor the run produces: the activation
// entering each block b in (first, first+n] with b < B, and the gradient
// leaving each block b in [first, first+n) with b > 0 — for the whole model,
// boundaries 1..B-1 exactly as StepObserver describes them.
//
// Each block does the same operations in the same order whichever run holds
// it, so a block run alone from recorded edge tensors reproduces its part of
// the whole-model step bit for bit (model/decoder.h).
#pragma once

#include <cstddef>
#include <vector>

#include "model/decoder.h"
#include "train/step_batch.h"
#include "train/trainer.h"

namespace aftune {

// The tensors that enter a run from outside it, one per micro-batch.
struct BlockEdges {
  // Entering the first held block; REQUIRED (size = micro-batches) when
  // first > 0, ignored otherwise.
  const std::vector<Tensor>* activations = nullptr;
  // The gradient of the last held block's output; REQUIRED when the run
  // does not end the model, ignored otherwise.
  const std::vector<Tensor>* gradients = nullptr;
};

class BlockPasses {
 public:
  // decoders: the held blocks' decoders in block order (not owned; they must
  // outlive this object); first: the index of decoders[0] among the B blocks.
  // REQUIRES: !decoders.empty(), first + decoders.size() <= num_blocks.
  BlockPasses(std::vector<const Decoder*> decoders, size_t first, size_t num_blocks);

  bool holds_first() const { return first_ == 0; }
  bool holds_last() const { return first_ + decoders_.size() == num_blocks_; }

  // Runs the passes of `batch` as above. Returns the f32 sum, in micro-batch
  // order from 0, of the micro-batches' token-loss sums when the run holds
  // the last block, else 0. REQUIRES: the edges the run needs, each with one
  // tensor per micro-batch of the right shape.
  float ForwardBackward(const StepBatch& batch, const BlockEdges& edges, TensorMap* grads, StepObserver* observer);

 private:
  std::vector<const Decoder*> decoders_;
  size_t first_ = 0;
  size_t num_blocks_ = 0;
  std::vector<Activations> acts_;  // per held block, reused across micro-batches
};

}  // namespace aftune
