#include "train/rank_exchange.h"

#include <utility>

#include "base/status.h"

namespace aftune {

MicroRange RankMicros(size_t micros, int ranks, int rank) {
  const size_t r = static_cast<size_t>(rank), n = static_cast<size_t>(ranks);
  const size_t base = micros / n, extra = micros % n;
  const size_t begin = r * base + std::min(r, extra);
  return {begin, begin + base + (r < extra ? 1 : 0)};
}

void SendChain(Communicator* comm, int dest, float loss_sum, const TensorMap& grads) {
  comm->SendFloats(dest, &loss_sum, 1);
  for (const auto& [name, g] : grads) comm->SendFloats(dest, g.data(), static_cast<size_t>(g.numel()));
}

void RecvChain(Communicator* comm, int source, float* loss_sum, TensorMap* grads) {
  comm->RecvFloats(source, loss_sum, 1);
  for (auto& [name, g] : *grads) comm->RecvFloats(source, g.data(), static_cast<size_t>(g.numel()));
}

void BroadcastChain(Communicator* comm, int root, float* loss_sum, TensorMap* grads) {
  comm->Broadcast(root, loss_sum, sizeof(float));
  for (auto& [name, g] : *grads) comm->Broadcast(root, g.data(), static_cast<size_t>(g.numel()) * sizeof(float));
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
