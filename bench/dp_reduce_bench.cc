// The order-preserving reduction of data-parallel training against Open
// MPI's MPI_Allreduce, which sums in an order of its own, measured where it
// matters: whole training steps on R ranks, the same model, data, batch and
// micro-batch split (the `small` preset, seed 1; data/arith/train.jsonl;
// 8 micro-batches of 4 examples of <= 64 tokens a step; LoRA r=16 on all
// seven projections, and full fine-tuning).
//
//   chain      aftune's training step (Trainer::RunStep on R ranks,
//              train/rank_exchange.h RankStep): the data halves of every
//              rank's micro-batches at once, then the weight-gradient chain
//              unit by unit, pipelined across ranks, and a broadcast
//   allreduce  the anchor, here only (never in aftune's training code):
//              each rank runs the interleaved passes of its micro-batches
//              (BlockPasses::ForwardBackward), then one MPI_Allreduce
//              (MPI_SUM, in place) of a buffer holding the loss sum and every
//              gradient (as aftune's chain hands on one buffer), then the
//              same norm, clip and AdamW step
//
// Steps alternate between the two (chain step s, allreduce step s, ...), so
// both see the same batches and the machine's load the same way; step 0 of
// each warms up and is not counted. tokens/s = the counted steps' input
// tokens / their wall time (rank 0, after a barrier before each step);
// ratio = chain tokens/s / allreduce tokens/s.
//
// Usage: mpirun -np R dp_reduce_bench [steps (default 5)] [threads per rank (default 1)]
#define OMPI_SKIP_MPICXX 1
#include <mpi.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "base/file.h"
#include "dist/communicator.h"
#include "model/model_init.h"
#include "model/tokenizer.h"
#include "tensor/thread_pool.h"
#include "train/block_passes.h"
#include "train/grad_clip.h"
#include "train/rank_exchange.h"
#include "train/step_update.h"
#include "train/trainer.h"

namespace aftune {
namespace {

// The anchor's training state and step: the trainer's (train/trainer.cc),
// with MPI_Allreduce for the reduction.
class AllreduceTrainer {
 public:
  AllreduceTrainer(const TrainConfig& cfg, const ModelConfig& model, const Dataset* data)
      : cfg_(cfg), data_(data), base_(InitModel(model, 1)) {
    if (!cfg.full_finetune) adapter_ = InitLora(model, cfg.lora, WholeModel(model), cfg.seed);
    trainable_ = cfg.full_finetune ? &base_ : &adapter_;
    AdamWConfig opt = cfg.adamw();
    opt.no_decay = HfNoDecayNames(*trainable_);
    optimizer_ = std::make_unique<AdamW>(opt, *trainable_);
    schedule_ = {cfg.lr_scheduler_type, cfg.learning_rate, cfg.warmup_steps, TotalSteps(cfg, data->size())};
    std::vector<const Decoder*> held;
    std::vector<size_t> indices;
    const std::vector<LayerSpan> spans = LayerBlocks(model, cfg.layers_per_block);
    for (LayerSpan span : spans) {
      decoders_.push_back(Decoder::Create(model, cfg.full_finetune ? LoraConfig{} : cfg.lora, span, &base_,
                                          cfg.full_finetune ? nullptr : &adapter_)
                              .value());
      indices.push_back(held.size());
      held.push_back(decoders_.back().get());
    }
    passes_ = std::make_unique<BlockPasses>(held, indices, spans.size());
    size_t size = 1;
    for (const auto& [name, t] : *trainable_) {
      grads_[name] = Tensor(t.shape());
      size += static_cast<size_t>(t.numel());
    }
    flat_.resize(size);
  }

  void RunStep(int rank, int ranks) {
    StepBatch batch = MakeStepBatch(cfg_, *data_, optimizer_->step());
    const MicroRange mine = RankMicros(batch.micro.size(), ranks, rank);
    batch.micro = std::vector<PackedBatch>(batch.micro.begin() + static_cast<std::ptrdiff_t>(mine.begin),
                                           batch.micro.begin() + static_cast<std::ptrdiff_t>(mine.end));
    for (auto& [name, g] : grads_) g.Fill(0.0f);
    flat_[0] = passes_->ForwardBackward(batch, {}, &grads_, nullptr);
    float* at = flat_.data() + 1;
    for (const auto& [name, g] : grads_) at = std::copy_n(g.data(), g.numel(), at);
    MPI_Allreduce(MPI_IN_PLACE, flat_.data(), static_cast<int>(flat_.size()), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    const float loss_sum = flat_[0];
    at = flat_.data() + 1;
    for (auto& [name, g] : grads_) {
      std::copy_n(at, g.numel(), g.data());
      at += g.numel();
    }
    const float norm = NormFromSumsOfSquares(SumsOfSquares(grads_));
    if (!ClipAndStep(cfg_, schedule_, loss_sum * batch.loss_scale, norm, &grads_, optimizer_.get(), trainable_).ok())
      std::abort();
  }

 private:
  TrainConfig cfg_;
  const Dataset* data_;
  TensorMap base_, adapter_;
  TensorMap* trainable_ = nullptr;
  std::unique_ptr<AdamW> optimizer_;
  ScheduleConfig schedule_;
  std::vector<std::unique_ptr<Decoder>> decoders_;
  std::unique_ptr<BlockPasses> passes_;
  TensorMap grads_;
  std::vector<float> flat_;  // the loss sum and every gradient: one MPI_Allreduce
};

void Run(Communicator* comm, const std::string& label, const TrainConfig& cfg, const ModelConfig& model,
         const Dataset& data, int steps) {
  std::unique_ptr<Trainer> chain = Trainer::Create(cfg, model, InitModel(model, 1), &data).value();
  chain->SetCommunicator(comm);
  AllreduceTrainer allreduce(cfg, model, &data);
  double chain_s = 0, allreduce_s = 0;
  int64_t tokens = 0;
  for (int s = 0; s <= steps; ++s) {
    comm->Barrier();
    double start = MPI_Wtime();
    const StepReport r = chain->RunStep().value();
    comm->Barrier();
    const double c = MPI_Wtime() - start;
    start = MPI_Wtime();
    allreduce.RunStep(comm->rank(), comm->size());
    comm->Barrier();
    const double a = MPI_Wtime() - start;
    if (comm->rank() == 0)
      std::printf("  %-14s step %d  %5lld tokens   chain %7.3f s   allreduce %7.3f s%s\n", label.c_str(), s,
                  static_cast<long long>(r.tokens), c, a, s == 0 ? "   (warm-up)" : "");
    if (s == 0) continue;
    chain_s += c;
    allreduce_s += a;
    tokens += r.tokens;
  }
  if (comm->rank() == 0)
    std::printf("%-14s R=%d  chain %8.1f tokens/s   allreduce %8.1f tokens/s   chain/allreduce %.2fx\n",
                label.c_str(), comm->size(), static_cast<double>(tokens) / chain_s,
                static_cast<double>(tokens) / allreduce_s, allreduce_s / chain_s);
}

}  // namespace
}  // namespace aftune

int main(int argc, char** argv) {
  using namespace aftune;
  const int steps = argc > 1 ? std::atoi(argv[1]) : 5;
  const int threads = argc > 2 ? std::atoi(argv[2]) : 1;
  Result<std::unique_ptr<Communicator>> comm = JoinJob();
  if (!comm.ok() || (*comm)->size() < 2 || steps < 1 || threads < 1) {
    std::fprintf(stderr, "usage: mpirun -np R (R >= 2) dp_reduce_bench [steps >= 1] [threads >= 1]\n");
    return 2;
  }
  SetDefaultThreads(threads);
  const ModelConfig model = PresetConfig("small").value();
  const std::string path = std::string(AFTUNE_SOURCE_DIR) + "/data/arith/train.jsonl";
  const Dataset data =
      ParseJsonlDataset(ReadFile(path).value(), path, ByteTokenizer(), {64, OverflowPolicy::kReject}).value();
  TrainConfig cfg;
  cfg.per_device_train_batch_size = 4;
  cfg.gradient_accumulation_steps = 8;
  cfg.max_seq_length = 64;
  cfg.max_steps = steps + 1;
  cfg.learning_rate = 1e-3;
  cfg.lora = {16, 32.0, {std::begin(kAllProjs), std::end(kAllProjs)}};
  Run(comm->get(), "LoRA r=16 all", cfg, model, data, steps);
  cfg.full_finetune = true;
  cfg.lora = LoraConfig{};
  Run(comm->get(), "full", cfg, model, data, steps);
  return 0;
}
