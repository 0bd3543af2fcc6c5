// llama.cpp's prefill and batch-1 decode, timed as aftune's decode_bench times
// its own: the same token ids, the same phases, wall clock or the process's
// CPU time (--clock cpu, for a loaded machine at one thread). The phases are
// llama-bench's: a prompt of T tokens decoded as one batch (logits of its last
// row only), and tokens decoded one at a time from an empty cache. Built by
// bench/llamacpp_bench.sh against a llama.cpp build; not part of aftune's build.
//
// Usage: llama_speed MODEL.gguf THREADS PREFILLS DECODE ROUNDS [cpu]
//   PREFILLS: comma-separated prompt lengths; DECODE: tokens decoded
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "../clock.h"
#include "llama.h"

namespace {

bool g_cpu_clock = false;
double Now() { return aftune_bench::Now(g_cpu_clock ? aftune_bench::ClockKind::kProcessCpu : aftune_bench::ClockKind::kWall); }

// decode_bench's ids: (i + salt) * 7919 + 13 mod the vocabulary.
llama_token Token(int64_t i, int64_t salt, int vocab) {
  return static_cast<llama_token>(((i + salt) * 7919 + 13) % vocab);
}

void Quiet(ggml_log_level, const char*, void*) {}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 6) {
    std::fprintf(stderr, "usage: llama_speed MODEL.gguf THREADS PREFILLS DECODE ROUNDS [cpu]\n");
    return 2;
  }
  const int threads = std::atoi(argv[2]), decode = std::atoi(argv[4]), rounds = std::atoi(argv[5]);
  g_cpu_clock = argc > 6 && std::string(argv[6]) == "cpu";
  std::vector<int> prefills;
  std::stringstream in(argv[3]);
  for (std::string item; std::getline(in, item, ',');) prefills.push_back(std::atoi(item.c_str()));
  const int longest = std::max(decode, *std::max_element(prefills.begin(), prefills.end()));

  llama_log_set(Quiet, nullptr);
  llama_backend_init();
  llama_model* model = llama_model_load_from_file(argv[1], llama_model_default_params());
  if (!model) return std::fprintf(stderr, "cannot load %s\n", argv[1]), 1;
  const int vocab = llama_vocab_n_tokens(llama_model_get_vocab(model));
  llama_context_params cp = llama_context_default_params();
  cp.n_ctx = cp.n_batch = cp.n_ubatch = static_cast<uint32_t>(longest);
  cp.n_threads = cp.n_threads_batch = threads;
  llama_context* ctx = llama_init_from_model(model, cp);
  if (!ctx) return std::fprintf(stderr, "cannot create a context\n"), 1;
  llama_memory_t memory = llama_get_memory(ctx);

  auto prefill = [&](int T) {
    std::vector<llama_token> ids(static_cast<size_t>(T));
    for (int i = 0; i < T; ++i) ids[i] = Token(i, 0, vocab);
    llama_memory_clear(memory, true);
    const double t0 = Now();
    if (llama_decode(ctx, llama_batch_get_one(ids.data(), T)) != 0) std::exit(1);
    llama_synchronize(ctx);
    return Now() - t0;
  };
  auto step = [&](int steps) {
    llama_memory_clear(memory, true);
    const double t0 = Now();
    for (int t = 0; t < steps; ++t) {
      llama_token id = Token(0, t, vocab);
      if (llama_decode(ctx, llama_batch_get_one(&id, 1)) != 0) std::exit(1);
      llama_synchronize(ctx);
    }
    return (Now() - t0) / steps;
  };
  step(2);  // warm-up: pages every weight in
  std::printf("llama.cpp, %d thread(s), %s clock\n", threads, g_cpu_clock ? "cpu" : "wall");
  for (int T : prefills) {
    double best = 1e30;
    for (int r = 0; r < rounds; ++r) best = std::min(best, prefill(T));
    std::printf("  prefill %4d: %8.3f s %9.1f tokens/s\n", T, best, T / best);
  }
  double best = 1e30;
  for (int r = 0; r < rounds; ++r) best = std::min(best, step(decode));
  std::printf("  decode batch  1: %8.4f s/step %9.2f tokens/s\n", best, 1 / best);
  llama_free(ctx);
  llama_model_free(model);
  llama_backend_free();
  return 0;
}
