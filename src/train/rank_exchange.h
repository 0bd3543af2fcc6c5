// What the ranks of a data-parallel step send each other (train/trainer.h,
// "Across ranks"): the running loss sum and the weight-gradient chain handed
// from rank to rank unit by unit, the finished sums relayed to every rank,
// and the boundary tensors of the other ranks' micro-batches, replayed to
// rank 0's observer in the order the single-process step produces them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "dist/communicator.h"
#include "train/block_passes.h"
#include "tensor/tensor.h"
#include "train/trainer.h"

namespace aftune {

// Micro-batches [begin, end) of rank `rank` of `ranks` out of `micros`:
// contiguous and in order, the first micros % ranks ranks one more.
struct MicroRange {
  size_t begin = 0, end = 0;
};
MicroRange RankMicros(size_t micros, int ranks, int rank);

// One rank's part of data-parallel steps (train/trainer.h, "Across ranks"):
// the passes of micro-batches RankMicros(M, R, rank) through `passes`
// (holding every block), and the reduction in the single process's order,
// unit by unit (BlockPasses::AccumulateUnit).
//
//   the chain  rank r receives the loss sum and then each unit's tensors
//              (BlockPasses::UnitTensors) from rank r-1, continues them and
//              hands them on to r+1 at once (Communicator::StartSend), so
//              that r+1 continues unit u while r runs unit u+1
//   the relay  the last rank sends each finished unit on as soon as it has
//              it, to rank 0, which passes it to 1, and so on to R-2: a
//              broadcast pipelined with the chain, unit by unit
// Messages go straight from and into the gradients: no buffer of their
// size.
class RankStep {
 public:
  // REQUIRES: comm (not owned, outlives this) has more than one rank.
  explicit RankStep(Communicator* comm);

  // grads: the trained tensors, zero on entry; on return, on every rank, the
  // step's accumulated gradients, the bits BlockPasses::ForwardBackward
  // gives. observer: rank 0's (ignored elsewhere; may be null), which sees
  // every boundary tensor in the single process's order. Returns the step's
  // loss sum, on every rank. Every rank of the job must run the same step.
  float Run(BlockPasses* passes, const StepBatch& batch, TensorMap* grads, StepObserver* observer);

 private:
  Communicator* comm_;
  float loss_sum_ = 0.0f;  // what StartSend sends of it stays here until WaitSends
};

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
