#include "trace/step_digester.h"

namespace aftune {

void StepDigester::Keep(int64_t step, const Hash& digest, const std::string& name, const Tensor& t) {
  if (writer_ && step % keep_interval_ == 0) writer_->PutTensor(digest, name, t);
}

void StepDigester::OnActivation(int64_t step, int64_t micro, int64_t boundary, const Tensor& x) {
  auto m = static_cast<size_t>(micro), b = static_cast<size_t>(boundary);
  if (pending_.boundaries.size() <= m) pending_.boundaries.resize(m + 1);
  if (pending_.boundaries[m].size() < b) pending_.boundaries[m].resize(b);
  const std::string name = BoundaryTensorName(BoundaryKind::kActivation, boundary);
  Hash& digest = pending_.boundaries[m][b - 1].activation;
  digest = F32TensorDigest(name, x);
  Keep(step, digest, name, x);
}

void StepDigester::OnGradient(int64_t step, int64_t micro, int64_t boundary, const Tensor& dx) {
  auto m = static_cast<size_t>(micro), b = static_cast<size_t>(boundary);
  AFTUNE_CHECK(m < pending_.boundaries.size() && b - 1 < pending_.boundaries[m].size());
  const std::string name = BoundaryTensorName(BoundaryKind::kGradient, boundary);
  Hash& digest = pending_.boundaries[m][b - 1].gradient;
  digest = F32TensorDigest(name, dx);
  Keep(step, digest, name, dx);
}

StepRecordData StepDigester::Take(const StepReport& r, const std::vector<LayerSpan>& blocks) {
  StepRecordData d = std::move(pending_);
  pending_ = {};
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
