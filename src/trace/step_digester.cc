#include "trace/step_digester.h"

#include <memory>

namespace aftune {

namespace {

// Copies queued for hashing at most: far above a step's boundary tensors on
// the models this engine trains on a CPU, and a bound on memory otherwise.
constexpr uint64_t kMaxQueuedBytes = uint64_t{256} << 20;

}  // namespace

StepDigester::~StepDigester() {
  for (Pending& p : pending_) p.digest.wait();  // the jobs hold this digester's writer
}

void StepDigester::Digest(int64_t step, BoundaryKind kind, int64_t micro, int64_t boundary, const Tensor& t) {
  const std::string name = BoundaryTensorName(kind, boundary);
  const bool keep = writer_ && step % keep_interval_ == 0;
  const uint64_t bytes = static_cast<uint64_t>(t.numel()) * sizeof(float);
  std::future<Hash> digest;
  if (worker_ && queued_bytes_.load() + bytes <= kMaxQueuedBytes) {
    queued_bytes_ += bytes;
    // The tensor is valid during the call only: the worker hashes a copy,
    // which then goes to the store as it would have anyway.
    digest = worker_->Submit([this, name, keep, bytes, copy = std::make_shared<Tensor>(t)] {
      const Hash h = F32TensorDigest(name, *copy);
      if (keep) writer_->PutTensor(h, name, std::move(*copy));
      queued_bytes_ -= bytes;
      return h;
    });
  } else {
    const Hash h = F32TensorDigest(name, t);
    if (keep) writer_->PutTensor(h, name, t);
    std::promise<Hash> done;
    done.set_value(h);
    digest = done.get_future();
  }
  pending_.push_back({static_cast<size_t>(micro), static_cast<size_t>(boundary), kind, std::move(digest)});
}

void StepDigester::OnActivation(int64_t step, int64_t micro, int64_t boundary, const Tensor& x) {
  auto m = static_cast<size_t>(micro), b = static_cast<size_t>(boundary);
  if (boundaries_.size() <= m) boundaries_.resize(m + 1);
  if (boundaries_[m].size() < b) boundaries_[m].resize(b);
  Digest(step, BoundaryKind::kActivation, micro, boundary, x);
}

void StepDigester::OnGradient(int64_t step, int64_t micro, int64_t boundary, const Tensor& dx) {
  auto m = static_cast<size_t>(micro), b = static_cast<size_t>(boundary);
  AFTUNE_CHECK(m < boundaries_.size() && b - 1 < boundaries_[m].size());
  Digest(step, BoundaryKind::kGradient, micro, boundary, dx);
}

StepRecordData StepDigester::Take(const StepReport& r, const std::vector<LayerSpan>& blocks) {
  for (Pending& p : pending_) {
    BoundaryDigests& slot = boundaries_[p.micro][p.boundary - 1];
    (p.kind == BoundaryKind::kActivation ? slot.activation : slot.gradient) = p.digest.get();
  }
  pending_.clear();
  StepRecordData d;
  d.boundaries = std::move(boundaries_);
  boundaries_ = {};
  // One entry per micro-batch, each listing the B - 1 boundaries: with a
  // single layer-block no boundary was seen, and the entries are empty.
  AFTUNE_CHECK(d.boundaries.size() <= static_cast<size_t>(r.micro_batches));
  d.boundaries.resize(static_cast<size_t>(r.micro_batches));
  for (const auto& micro : d.boundaries) AFTUNE_CHECK(micro.size() + 1 == blocks.size());
  d.report = r;
  d.grad_sumsq.assign(blocks.size(), {});
  for (const auto& [name, v] : r.grad_sumsq) d.grad_sumsq[BlockOfTensor(name, blocks)].emplace_back(name, v);
  return d;
}

}  // namespace aftune
