// The logits llama.cpp computes for every position of one prompt, as raw
// little-endian f32 [T, V], for bench/llamacpp_bench.sh to compare with
// aftune's (decode_bench --logits). Built by that script against a llama.cpp
// build; not part of aftune's build.
//
// Usage: llama_logits MODEL.gguf IDS OUT [THREADS]   (IDS: comma-separated token ids)
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "llama.h"

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: llama_logits MODEL.gguf IDS OUT [THREADS]\n");
    return 2;
  }
  std::vector<llama_token> ids;
  std::stringstream in(argv[2]);
  for (std::string item; std::getline(in, item, ',');) ids.push_back(static_cast<llama_token>(std::atoi(item.c_str())));
  const int threads = argc > 4 ? std::atoi(argv[4]) : 1;

  llama_backend_init();
  llama_model* model = llama_model_load_from_file(argv[1], llama_model_default_params());
  if (!model) return std::fprintf(stderr, "cannot load %s\n", argv[1]), 1;
  llama_context_params cp = llama_context_default_params();
  cp.n_ctx = cp.n_batch = cp.n_ubatch = static_cast<uint32_t>(ids.size());
  cp.n_threads = cp.n_threads_batch = threads;
  llama_context* ctx = llama_init_from_model(model, cp);
  if (!ctx) return std::fprintf(stderr, "cannot create a context\n"), 1;
  const int n = static_cast<int>(ids.size());
  llama_batch batch = llama_batch_init(n, 0, 1);
  for (int i = 0; i < n; ++i) {
    batch.token[i] = ids[i];
    batch.pos[i] = i;
    batch.n_seq_id[i] = 1;
    batch.seq_id[i][0] = 0;
    batch.logits[i] = 1;
  }
  batch.n_tokens = n;
  if (llama_decode(ctx, batch) != 0) return std::fprintf(stderr, "llama_decode failed\n"), 1;
  const int vocab = llama_vocab_n_tokens(llama_model_get_vocab(model));
  FILE* out = std::fopen(argv[3], "wb");
  if (!out) return std::fprintf(stderr, "cannot write %s\n", argv[3]), 1;
  for (int i = 0; i < n; ++i) std::fwrite(llama_get_logits_ith(ctx, i), sizeof(float), static_cast<size_t>(vocab), out);
  std::fclose(out);
  std::printf("wrote %d x %d logits to %s\n", n, vocab, argv[3]);
  llama_batch_free(batch);
  llama_free(ctx);
  llama_model_free(model);
  llama_backend_free();
  return 0;
}
