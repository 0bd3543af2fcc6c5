#include "train/block_passes.h"

#include <utility>

#include "base/status.h"

namespace aftune {

BlockPasses::BlockPasses(std::vector<const Decoder*> decoders, size_t first, size_t num_blocks)
    : decoders_(std::move(decoders)), first_(first), num_blocks_(num_blocks), acts_(decoders_.size()) {
  AFTUNE_CHECK(!decoders_.empty() && first_ + decoders_.size() <= num_blocks_);
}

float BlockPasses::ForwardBackward(const StepBatch& batch, const BlockEdges& edges, TensorMap* grads,
                                   StepObserver* observer) {
  const size_t n = decoders_.size();
  const size_t micros = batch.micro.size();
  AFTUNE_CHECK(holds_first() || (edges.activations && edges.activations->size() == micros));
  AFTUNE_CHECK(holds_last() || (edges.gradients && edges.gradients->size() == micros));
  float loss_sum = 0.0f;
  for (size_t m = 0; m < micros; ++m) {
    const PackedBatch& mb = batch.micro[m];
    const auto micro = static_cast<int64_t>(m);
    for (size_t i = 0; i < n; ++i) {
      const Tensor* x_in = i > 0 ? &acts_[i - 1].output() : holds_first() ? nullptr : &(*edges.activations)[m];
      decoders_[i]->Forward(mb, x_in, true, &acts_[i]);
      const size_t out_boundary = first_ + i + 1;
      if (observer && out_boundary < num_blocks_)
        observer->OnActivation(batch.step, micro, static_cast<int64_t>(out_boundary), acts_[i].output());
    }
    if (holds_last()) loss_sum += acts_[n - 1].loss.loss_sum;
    Tensor d_out, d_in;
    for (size_t i = n; i-- > 0;) {
      const size_t block = first_ + i;
      const Tensor* grad_out = i + 1 < n ? &d_out : holds_last() ? nullptr : &(*edges.gradients)[m];
      decoders_[i]->BackwardScaled(mb, grad_out, &acts_[i], grads, block == 0 ? nullptr : &d_in, batch.loss_scale);
      if (block > 0) {
        if (observer) observer->OnGradient(batch.step, micro, static_cast<int64_t>(block), d_in);
        std::swap(d_out, d_in);
      }
    }
  }
  return loss_sum;
}

}  // namespace aftune
