// Forward + backward tokens/s of the `small` preset (full fine-tuning and
// LoRA r=8 on every projection), 1 and 2 threads, 8 sequences x 128 tokens.
// Best of several passes after a warm-up. Usage: step_bench [passes]
#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "model/decoder.h"
#include "model/model_init.h"
#include "tensor/philox.h"
#include "tensor/thread_pool.h"

namespace aftune {
namespace {

PackedBatch RandomBatch(int64_t batch, int64_t seq_len, int64_t V) {
  Philox rng(1, RandomPurpose::kShuffle, 0);
  std::vector<std::vector<int32_t>> seqs;
  uint64_t i = 0;
  for (int64_t s = 0; s < batch; ++s) {
    std::vector<int32_t> seq;
    for (int64_t t = 0; t <= seq_len; ++t) seq.push_back(static_cast<int32_t>(rng.Word(i++) % V));
    seqs.push_back(seq);
  }
  return MakeLmBatch(seqs);
}

double BestTokensPerSecond(const Decoder& d, const PackedBatch& batch, const TensorMap& params, bool lora,
                           int passes) {
  Activations acts;
  TensorMap grads;
  for (const auto& [name, t] : params)
    if ((name.find(".lora_") != std::string::npos) == lora) grads.emplace(name, Tensor(t.shape()));
  double best = 0;
  for (int p = 0; p <= passes; ++p) {
    auto t0 = std::chrono::steady_clock::now();
    d.Forward(batch, nullptr, true, &acts);
    d.Backward(batch, nullptr, &acts, &grads, nullptr);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (p > 0) best = std::max(best, static_cast<double>(batch.num_tokens()) / s);  // pass 0 warms up
  }
  return best;
}

}  // namespace
}  // namespace aftune

int main(int argc, char** argv) {
  using namespace aftune;
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  const int passes = argc > 1 ? std::atoi(argv[1]) : 5;
  ModelConfig cfg = PresetConfig("small").value();
  TensorMap params = InitModel(cfg, 1);
  LoraConfig lora{8, 16.0, std::vector<Proj>(std::begin(kAllProjs), std::end(kAllProjs))};
  TensorMap lora_params = params;
  lora_params.merge(InitLora(cfg, lora, WholeModel(cfg), 1));
  PackedBatch batch = RandomBatch(8, 128, cfg.vocab_size);
  std::printf("small preset: %.1f M parameters, %lld tokens per pass (8 x 128), best of %d passes\n",
              cfg.NumParameters() / 1e6, static_cast<long long>(batch.num_tokens()), passes);
  std::printf("%-24s %8s %14s\n", "mode", "threads", "tokens/s");
  for (int threads : {1, 2}) {
    SetDefaultThreads(threads);
    auto full = Decoder::Create(cfg, LoraConfig{}, WholeModel(cfg), &params).value();
    auto with_lora = Decoder::Create(cfg, lora, WholeModel(cfg), &lora_params).value();
    std::printf("%-24s %8d %14.0f\n", "full fine-tuning", threads,
                BestTokensPerSecond(*full, batch, params, false, passes));
    std::printf("%-24s %8d %14.0f\n", "LoRA r=8, all projections", threads,
                BestTokensPerSecond(*with_lora, batch, lora_params, true, passes));
  }
  return 0;
}
