#include "train/block_passes.h"

#include <utility>

#include "base/status.h"

namespace aftune {

BlockPasses::BlockPasses(std::vector<const Decoder*> decoders, std::vector<size_t> blocks, size_t num_blocks)
    : decoders_(std::move(decoders)), blocks_(std::move(blocks)), num_blocks_(num_blocks), acts_(decoders_.size()) {
  AFTUNE_CHECK(!decoders_.empty() && decoders_.size() == blocks_.size() && blocks_.back() < num_blocks_);
  for (size_t i = 1; i < blocks_.size(); ++i) AFTUNE_CHECK(blocks_[i - 1] < blocks_[i]);
}

float BlockPasses::ForwardBackward(const StepBatch& batch, const BlockEdges& edges, TensorMap* grads,
                                   StepObserver* observer) {
  float loss_sum = 0.0f;
  RunMicros(batch, edges, 0, batch.micro.size(), &loss_sum, grads, observer, {});
  return loss_sum;
}

void BlockPasses::RunMicros(const StepBatch& batch, const BlockEdges& edges, size_t begin, size_t end,
                            float* loss_sum, TensorMap* grads, StepObserver* observer,
                            const std::function<void()>& before_backward) {
  AFTUNE_CHECK(begin < end && end <= batch.micro.size());
  const size_t n = decoders_.size();
  const size_t micros = batch.micro.size();
  // The edge tensors of held block i's input and output, when they come from outside.
  auto edge = [&](const std::map<size_t, const std::vector<Tensor>*>& m, size_t block) {
    auto it = m.find(block);
    AFTUNE_CHECK(it != m.end() && it->second->size() == micros);
    return it->second;
  };
  auto fed_by_previous = [&](size_t i) { return i > 0 && blocks_[i - 1] + 1 == blocks_[i]; };
  auto fed_by_next = [&](size_t i) { return i + 1 < n && blocks_[i] + 1 == blocks_[i + 1]; };
  for (size_t m = begin; m < end; ++m) {
    const PackedBatch& mb = batch.micro[m];
    const auto micro = static_cast<int64_t>(m);
    for (size_t i = 0; i < n; ++i) {
      const size_t block = blocks_[i];
      const Tensor* x_in = block == 0            ? nullptr
                           : fed_by_previous(i) ? &acts_[i - 1].output()
                                                : &(*edge(edges.activations, block))[m];
      decoders_[i]->Forward(mb, x_in, true, &acts_[i]);
      if (observer && block + 1 < num_blocks_)
        observer->OnActivation(batch.step, micro, static_cast<int64_t>(block + 1), acts_[i].output());
    }
    if (m == begin && before_backward) before_backward();
    if (holds_last()) *loss_sum += acts_[n - 1].loss.loss_sum;
    Tensor d_out, d_in;
    for (size_t i = n; i-- > 0;) {
      const size_t block = blocks_[i];
      const Tensor* grad_out = block + 1 == num_blocks_ ? nullptr
                               : fed_by_next(i)         ? &d_out
                                                        : &(*edge(edges.gradients, block))[m];
      decoders_[i]->BackwardScaled(mb, grad_out, &acts_[i], grads, block == 0 ? nullptr : &d_in, batch.loss_scale);
      if (block > 0) {
        if (observer) observer->OnGradient(batch.step, micro, static_cast<int64_t>(block), d_in);
        std::swap(d_out, d_in);
      }
    }
  }
}

}  // namespace aftune
