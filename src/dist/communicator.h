// The ranks of a job spread over processes (and machines): the few point-to-
// point and collective operations aftune's data-parallel training needs, so
// the trainer never names MPI. A job started without mpirun has one rank and
// never initialises MPI (train/trainer.h: "Across ranks").
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "base/status.h"

namespace aftune {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Blocking, in order per (sender, receiver) pair; `bytes` must match on
  // both sides.
  virtual void Send(int dest, const void* data, size_t bytes) = 0;
  virtual void Recv(int source, void* data, size_t bytes) = 0;
  // Send without waiting for the receiver: returns at once; `data` must stay
  // unchanged until WaitSends returns. Ordered with Send and other
  // StartSends to the same rank.
  virtual void StartSend(int dest, const void* data, size_t bytes) = 0;
  // Returns once every StartSend so far has completed.
  virtual void WaitSends() = 0;
  // `bytes` from rank `root` to every rank.
  virtual void Broadcast(int root, void* data, size_t bytes) = 0;
  virtual void Barrier() = 0;
  // Stops every rank of the job, printing `message` naming this rank.
  [[noreturn]] virtual void Abort(const std::string& message) = 0;

  void SendFloats(int dest, const float* data, size_t n) { Send(dest, data, n * sizeof(float)); }
  void RecvFloats(int source, float* data, size_t n) { Recv(source, data, n * sizeof(float)); }
};

// The job this process belongs to: under mpirun (Open MPI sets
// OMPI_COMM_WORLD_SIZE; srun sets PMIX_RANK or PMI_RANK) an MPI communicator over MPI_COMM_WORLD, which
// finalises MPI when destroyed; otherwise a single rank. Only one MPI
// communicator may exist per process.
Result<std::unique_ptr<Communicator>> JoinJob();

// A job of one rank (Send and Recv to oneself are programming errors).
std::unique_ptr<Communicator> SingleRank();

}  // namespace aftune
