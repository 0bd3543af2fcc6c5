// What the ranks of a data-parallel step send each other (train/trainer.h,
// "Across ranks"): the running gradient chain handed from rank to rank, and
// the boundary tensors of the other ranks' micro-batches, replayed to rank 0's
// observer in the order the single-process step produces them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "dist/communicator.h"
#include "tensor/tensor.h"
#include "train/trainer.h"

namespace aftune {

// Micro-batches [begin, end) of rank `rank` of `ranks` out of `micros`:
// contiguous and in order, the first micros % ranks ranks one more.
struct MicroRange {
  size_t begin = 0, end = 0;
};
MicroRange RankMicros(size_t micros, int ranks, int rank);

// The partial state of the step's reduction: the f32 loss sum and every
// gradient (name order), sent to / received from / broadcast by one rank.
void SendChain(Communicator* comm, int dest, float loss_sum, const TensorMap& grads);
void RecvChain(Communicator* comm, int source, float* loss_sum, TensorMap* grads);
void BroadcastChain(Communicator* comm, int root, float* loss_sum, TensorMap* grads);

// Keeps every boundary tensor a rank's micro-batches produce, in order.
class BoundaryLog : public StepObserver {
 public:
  void OnActivation(int64_t step, int64_t micro, int64_t boundary, const Tensor& x) override;
  void OnGradient(int64_t step, int64_t micro, int64_t boundary, const Tensor& dx) override;

  // Sends the kept tensors to `dest` and forgets them.
  void SendTo(Communicator* comm, int dest);
  // Receives what `source` sent and replays it to `observer`, in order.
  static void Replay(Communicator* comm, int source, StepObserver* observer);

 private:
  struct Entry {
    int64_t kind, step, micro, boundary;  // kind 0: activation, 1: gradient
    Tensor t;
  };
  std::vector<Entry> entries_;
};

}  // namespace aftune
