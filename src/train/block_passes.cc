#include "train/block_passes.h"

#include <algorithm>
#include <utility>

#include "base/status.h"

namespace aftune {

namespace {

using PieceKind = Decoder::GradPiece::Kind;

// The tensors entering held block `block` from outside, one per micro-batch.
const std::vector<Tensor>& EdgeTensors(const std::map<size_t, const std::vector<Tensor>*>& edges, size_t block,
                                       const StepBatch& batch) {
  auto it = edges.find(block);
  AFTUNE_CHECK(it != edges.end() && it->second->size() == batch.micro.size());
  return *it->second;
}

}  // namespace

BlockPasses::BlockPasses(std::vector<const Decoder*> decoders, std::vector<size_t> blocks, size_t num_blocks)
    : decoders_(std::move(decoders)),
      blocks_(std::move(blocks)),
      num_blocks_(num_blocks),
      acts_(decoders_.size()),
      scratch_at_(decoders_.size(), 0) {
  AFTUNE_CHECK(!decoders_.empty() && decoders_.size() == blocks_.size() && blocks_.back() < num_blocks_);
  for (size_t i = 1; i < blocks_.size(); ++i) AFTUNE_CHECK(blocks_[i - 1] < blocks_[i]);
  for (size_t i = decoders_.size(); i-- > 0;)
    for (const Decoder::GradPiece& p : decoders_[i]->GradPieces()) units_.push_back({{i, p}});
  // A tied embedding's lookup joins its head: the head unit comes first, the
  // embedding's last.
  const bool tied = decoders_.front()->config().tie_word_embeddings;
  if (tied && holds_first() && holds_last() && units_.size() > 1) {
    AFTUNE_CHECK(units_.front()[0].piece.kind == PieceKind::kHead &&
                 units_.back()[0].piece.kind == PieceKind::kEmbedding);
    units_.front().push_back(units_.back()[0]);
    units_.pop_back();
  }
}

float BlockPasses::ForwardBackward(const StepBatch& batch, const BlockEdges& edges, TensorMap* grads,
                                   StepObserver* observer) {
  AFTUNE_CHECK(grads != nullptr);
  float loss_sum = 0.0f;
  for (auto& a : acts_) a.resize(std::max<size_t>(a.size(), 1));
  kept_begin_ = kept_end_ = 0;  // nothing kept for AccumulateUnit
  for (size_t m = 0; m < batch.micro.size(); ++m) {
    Forward(batch, edges, m, 0, observer);
    if (holds_last()) loss_sum += acts_.back()[0].loss.loss_sum;
    Backward(batch, edges, m, 0, grads, observer);
  }
  return loss_sum;
}

void BlockPasses::DataPasses(const StepBatch& batch, const BlockEdges& edges, size_t begin, size_t end,
                             StepObserver* observer) {
  AFTUNE_CHECK(begin <= end && end <= batch.micro.size());
  for (auto& a : acts_) a.resize(std::max(a.size(), end - begin));
  kept_begin_ = begin;
  kept_end_ = end;
  for (size_t m = begin; m < end; ++m) {
    Forward(batch, edges, m, m - begin, observer);
    Backward(batch, edges, m, m - begin, nullptr, observer);
  }
}

float BlockPasses::ContinueLossSum(float loss_sum) const {
  if (!holds_last()) return loss_sum;
  for (size_t k = 0; k < kept_end_ - kept_begin_; ++k) loss_sum += acts_.back()[k].loss.loss_sum;
  return loss_sum;
}

std::vector<std::string> BlockPasses::UnitTensors(size_t u, const TensorMap& grads) const {
  std::vector<std::string> names;
  for (const auto& [name, g] : grads) {
    for (const Piece& p : units_.at(u)) {
      if (!decoders_[p.held]->PieceWrites(p.piece, name)) continue;
      names.push_back(name);
      break;
    }
  }
  return names;
}

void BlockPasses::AccumulateUnit(size_t u, const StepBatch& batch, TensorMap* grads) const {
  for (size_t m = kept_begin_; m < kept_end_; ++m)
    for (const Piece& p : units_.at(u))
      decoders_[p.held]->AccumulatePiece(p.piece, batch.micro[m], acts_[p.held][m - kept_begin_], grads);
}

void BlockPasses::Forward(const StepBatch& batch, const BlockEdges& edges, size_t m, size_t k,
                          StepObserver* observer) {
  const PackedBatch& mb = batch.micro[m];
  for (size_t i = 0; i < decoders_.size(); ++i) {
    if (scratch_at_[i] != k) MoveDataHalfBuffers(&acts_[i][scratch_at_[i]], &acts_[i][k]);
    scratch_at_[i] = k;
    const size_t block = blocks_[i];
    const bool fed_by_previous = i > 0 && blocks_[i - 1] + 1 == block;
    const Tensor* x_in = block == 0        ? nullptr
                         : fed_by_previous ? &acts_[i - 1][k].output()
                                           : &EdgeTensors(edges.activations, block, batch)[m];
    decoders_[i]->Forward(mb, x_in, true, &acts_[i][k]);
    if (observer && block + 1 < num_blocks_)
      observer->OnActivation(batch.step, static_cast<int64_t>(m), static_cast<int64_t>(block + 1),
                             acts_[i][k].output());
  }
}

void BlockPasses::Backward(const StepBatch& batch, const BlockEdges& edges, size_t m, size_t k, TensorMap* grads,
                           StepObserver* observer) {
  const PackedBatch& mb = batch.micro[m];
  Tensor d_out, d_in;
  for (size_t i = decoders_.size(); i-- > 0;) {
    const size_t block = blocks_[i];
    const bool fed_by_next = i + 1 < decoders_.size() && block + 1 == blocks_[i + 1];
    const Tensor* grad_out = block + 1 == num_blocks_ ? nullptr
                             : fed_by_next           ? &d_out
                                                     : &EdgeTensors(edges.gradients, block, batch)[m];
    Tensor* grad_in = block == 0 ? nullptr : &d_in;
    if (grads) decoders_[i]->BackwardScaled(mb, grad_out, &acts_[i][k], grads, grad_in, batch.loss_scale);
    else decoders_[i]->BackwardData(mb, grad_out, &acts_[i][k], grad_in, batch.loss_scale);
    if (block > 0) {
      if (observer) observer->OnGradient(batch.step, static_cast<int64_t>(m), static_cast<int64_t>(block), d_in);
      std::swap(d_out, d_in);
    }
  }
}

}  // namespace aftune
