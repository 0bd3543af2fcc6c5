#include "train/rank_exchange.h"

#include <algorithm>
#include <string>
#include <utility>

#include "base/status.h"

namespace aftune {

MicroRange RankMicros(size_t micros, int ranks, int rank) {
  const size_t r = static_cast<size_t>(rank), n = static_cast<size_t>(ranks);
  const size_t base = micros / n, extra = micros % n;
  const size_t begin = r * base + std::min(r, extra);
  return {begin, begin + base + (r < extra ? 1 : 0)};
}

namespace {

// The tensors of `grads` each unit of `passes` writes, unit by unit; every
// tensor in exactly one unit.
std::vector<std::vector<Tensor*>> Units(const BlockPasses& passes, TensorMap* grads) {
  std::vector<std::vector<Tensor*>> units(passes.num_units());
  std::vector<std::string> names;
  for (size_t u = 0; u < units.size(); ++u) {
    for (const std::string& name : passes.UnitTensors(u, *grads)) {
      units[u].push_back(&grads->at(name));
      names.push_back(name);
    }
  }
  std::sort(names.begin(), names.end());
  AFTUNE_CHECK(std::equal(names.begin(), names.end(), grads->begin(), grads->end(),
                          [](const std::string& a, const auto& b) { return a == b.first; }));
  return units;
}

}  // namespace

RankStep::RankStep(Communicator* comm) : comm_(comm) { AFTUNE_CHECK(comm->size() > 1); }

float RankStep::Run(BlockPasses* passes, const StepBatch& batch, TensorMap* grads, StepObserver* observer) {
  const int rank = comm_->rank(), ranks = comm_->size(), last = ranks - 1;
  const MicroRange mine = RankMicros(batch.micro.size(), ranks, rank);
  // Whether rank 0 records: then the later ranks keep their boundary tensors for it.
  uint8_t observed = rank == 0 && observer != nullptr;
  comm_->Broadcast(0, &observed, 1);
  BoundaryLog log;
  passes->DataPasses(batch, {}, mine.begin, mine.end, rank == 0 ? observer : observed ? &log : nullptr);

  const std::vector<std::vector<Tensor*>> units = Units(*passes, grads);
  auto send = [&](int dest, const std::vector<Tensor*>& unit) {
    for (const Tensor* t : unit) comm_->StartSend(dest, t->data(), static_cast<size_t>(t->numel()) * sizeof(float));
  };
  auto recv = [&](int source, const std::vector<Tensor*>& unit) {
    for (Tensor* t : unit) comm_->RecvFloats(source, t->data(), static_cast<size_t>(t->numel()));
  };
  // The relay's next rank: last -> 0 -> 1 -> ... -> last - 1 (none).
  const int relay_to = rank == last ? 0 : rank + 1 < last ? rank + 1 : -1;

  loss_sum_ = 0.0f;
  if (rank > 0) comm_->RecvFloats(rank - 1, &loss_sum_, 1);
  loss_sum_ = passes->ContinueLossSum(loss_sum_);
  comm_->StartSend(rank < last ? rank + 1 : relay_to, &loss_sum_, sizeof loss_sum_);
  for (size_t u = 0; u < units.size(); ++u) {
    if (rank > 0) recv(rank - 1, units[u]);
    passes->AccumulateUnit(u, batch, grads);
    send(rank < last ? rank + 1 : relay_to, units[u]);
  }
  comm_->WaitSends();  // the relay overwrites what the chain sent
  if (rank < last) {
    const int relay_from = rank == 0 ? last : rank - 1;
    comm_->RecvFloats(relay_from, &loss_sum_, 1);
    if (relay_to >= 0) comm_->StartSend(relay_to, &loss_sum_, sizeof loss_sum_);
    for (const std::vector<Tensor*>& unit : units) {
      recv(relay_from, unit);
      if (relay_to >= 0) send(relay_to, unit);
    }
    comm_->WaitSends();
  }
  if (observed) {
    if (rank > 0) log.SendTo(comm_, 0);
    else for (int r = 1; r < ranks; ++r) BoundaryLog::Replay(comm_, r, observer);
  }
  return loss_sum_;
}

void BoundaryLog::OnActivation(int64_t step, int64_t micro, int64_t boundary, const Tensor& x) {
  entries_.push_back({0, step, micro, boundary, x});
}

void BoundaryLog::OnGradient(int64_t step, int64_t micro, int64_t boundary, const Tensor& dx) {
  entries_.push_back({1, step, micro, boundary, dx});
}

// Per entry: its header's length; kind, step, micro, boundary, the shape's
// rank and dimensions; then the data.
void BoundaryLog::SendTo(Communicator* comm, int dest) {
  int64_t count = static_cast<int64_t>(entries_.size());
  comm->Send(dest, &count, sizeof count);
  for (const Entry& e : entries_) {
    std::vector<int64_t> head = {e.kind, e.step, e.micro, e.boundary, static_cast<int64_t>(e.t.shape().size())};
    head.insert(head.end(), e.t.shape().begin(), e.t.shape().end());
    int64_t words = static_cast<int64_t>(head.size());
    comm->Send(dest, &words, sizeof words);
    comm->Send(dest, head.data(), head.size() * sizeof(int64_t));
    comm->SendFloats(dest, e.t.data(), static_cast<size_t>(e.t.numel()));
  }
  entries_.clear();
}

void BoundaryLog::Replay(Communicator* comm, int source, StepObserver* observer) {
  int64_t count = 0;
  comm->Recv(source, &count, sizeof count);
  for (int64_t i = 0; i < count; ++i) {
    int64_t words = 0;
    comm->Recv(source, &words, sizeof words);
    AFTUNE_CHECK(words >= 5);
    std::vector<int64_t> head(static_cast<size_t>(words));
    comm->Recv(source, head.data(), head.size() * sizeof(int64_t));
    Tensor t(std::vector<int64_t>(head.begin() + 5, head.end()));
    comm->RecvFloats(source, t.data(), static_cast<size_t>(t.numel()));
    if (head[0] == 0) observer->OnActivation(head[1], head[2], head[3], t);
    else observer->OnGradient(head[1], head[2], head[3], t);
  }
}

}  // namespace aftune
