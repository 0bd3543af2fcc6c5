// The order-preserving gradient reduction of data-parallel training
// (train/trainer.h, "Across ranks") against Open MPI's MPI_Allreduce, which
// sums in an order of its own, on the same gradient buffers: the trainable
// tensors of the `small` preset, LoRA r=16 on all seven projections and the
// full model.
//
//   chain      rank r receives the running sums from r-1, adds its own
//              gradient (what continuing the chain costs beyond the
//              transfer), sends to r+1; the last rank broadcasts
//   allreduce  MPI_Allreduce(MPI_SUM) in place, tensor by tensor as well
//
// Figures are the best of `reps` rounds, rounds interleaving both, in
// gradient bytes per second (the buffer's f32 bytes / wall time).
//
// Usage: mpirun -np R dp_reduce_bench [reps (default 10)]
#define OMPI_SKIP_MPICXX 1
#include <mpi.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <string>

#include "dist/communicator.h"
#include "model/lora.h"
#include "model/llama_names.h"
#include "model/model_init.h"
#include "train/rank_exchange.h"

namespace aftune {
namespace {

double Seconds() { return MPI_Wtime(); }

double Chain(Communicator* comm, TensorMap* grads, const TensorMap& mine) {
  const int rank = comm->rank(), ranks = comm->size();
  comm->Barrier();
  const double start = Seconds();
  float loss = 0.0f;
  if (rank > 0) {
    RecvChain(comm, rank - 1, &loss, grads);
    for (auto& [name, g] : *grads) {
      const float* add = mine.at(name).data();
      float* sum = g.data();
      for (int64_t i = 0; i < g.numel(); ++i) sum[i] += add[i];
    }
  }
  if (rank + 1 < ranks) SendChain(comm, rank + 1, loss, *grads);
  BroadcastChain(comm, ranks - 1, &loss, grads);
  comm->Barrier();
  return Seconds() - start;
}

double Allreduce(Communicator* comm, TensorMap* grads) {
  comm->Barrier();
  const double start = Seconds();
  for (auto& [name, g] : *grads)
    MPI_Allreduce(MPI_IN_PLACE, g.data(), static_cast<int>(g.numel()), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
  comm->Barrier();
  return Seconds() - start;
}

void Run(Communicator* comm, const std::string& label, const TensorMap& trainable, int reps) {
  TensorMap grads = trainable, mine = trainable;
  double bytes = 0;
  for (const auto& [name, t] : trainable) bytes += 4.0 * static_cast<double>(t.numel());
  double chain = 1e30, allreduce = 1e30;
  for (int i = 0; i <= reps; ++i) {  // round 0 warms up
    const double c = Chain(comm, &grads, mine), a = Allreduce(comm, &grads);
    if (i > 0) chain = std::min(chain, c), allreduce = std::min(allreduce, a);
  }
  if (comm->rank() == 0)
    std::printf("%-22s %3d ranks %9.1f MB   chain %8.3f ms %7.2f GB/s   allreduce %8.3f ms %7.2f GB/s   "
                "chain/allreduce throughput %.2fx\n",
                label.c_str(), comm->size(), bytes / 1e6, chain * 1e3, bytes / chain / 1e9, allreduce * 1e3,
                bytes / allreduce / 1e9, allreduce / chain);
}

}  // namespace
}  // namespace aftune

int main(int argc, char** argv) {
  using namespace aftune;
  const int reps = argc > 1 ? std::atoi(argv[1]) : 10;
  Result<std::unique_ptr<Communicator>> comm = JoinJob();
  if (!comm.ok() || (*comm)->size() < 2) {
    std::fprintf(stderr, "run under mpirun with at least 2 ranks\n");
    return 2;
  }
  Result<ModelConfig> cfg = PresetConfig("small");
  if (!cfg.ok()) return 1;
  LoraConfig lora;
  lora.r = 16;
  lora.target_modules.assign(std::begin(kAllProjs), std::end(kAllProjs));
  Run(comm->get(), "small LoRA r=16 all", InitLora(*cfg, lora, WholeModel(*cfg), 1), reps);
  Run(comm->get(), "small full", InitModel(*cfg, 1), reps);
  return 0;
}
