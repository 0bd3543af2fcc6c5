// Decode and prefill of a model directory, as generation runs them, against
// what the machine and the GEMM allow, at each thread count in one run:
//   stream      a read-only loop over --stream-mib MiB (split over the threads):
//               the machine's read bandwidth, the ceiling of batch-1 decode
//   prefill T   one sequence of T tokens through ForwardCached (the KV cache
//               filled, the head for the last row only), tokens/s; then the
//               same matmuls alone (every projection at M = T and the head at
//               M = 1, through Gemm on the model's own weights): "of GEMM" is
//               the GEMM's time over prefill's (1.0 = nothing but the GEMM)
//   decode B    B sequences decoding one token a step from an empty cache
//               (positions 0 .. --decode - 1, as llama.cpp's tg rows), tokens/s;
//               at B = 1 the weight bytes one step reads (every projection and
//               the head) per second, and that over the stream rate
// Every figure is the best of --rounds rounds, wall clock; with --clock cpu,
// the process's CPU time instead (immune to being descheduled on a loaded
// machine, and equal to wall time only at one thread: spinning threads count).
// Token ids are
// arbitrary (i * 7919 + 13 mod the vocabulary): speed does not depend on them.
//
// With --logits IDS --out FILE it instead writes the logits of every position
// of one forward pass over the comma-separated token ids, [T, V] little-endian
// f32, for bench/llamacpp_bench.sh to compare with llama.cpp's.
//
// Usage: decode_bench --model DIR [--threads 1,2] [--prefill 128,512] [--decode 32]
//                     [--batch 1,8] [--rounds 3] [--stream-mib 1024] [--only prefill|decode]
//                     [--clock wall|cpu]
//        decode_bench --model DIR --logits 1,2,3 --out FILE
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "bench/clock.h"
#include "bench/stream_read.h"
#include "model/decoder.h"
#include "model/kv_cache.h"
#include "model/llama_names.h"
#include "model/model_dir.h"
#include "tensor/gemm.h"
#include "tensor/thread_pool.h"

namespace aftune {
namespace {

// Wall clock, or the process's CPU time (--clock cpu).
bool g_cpu_clock = false;
double Now() { return aftune_bench::Now(g_cpu_clock ? aftune_bench::ClockKind::kProcessCpu : aftune_bench::ClockKind::kWall); }
double Since(double t0) { return Now() - t0; }

std::vector<int64_t> ParseList(const std::string& s) {
  std::vector<int64_t> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) out.push_back(std::atoll(item.c_str()));
  return out;
}

std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

std::vector<int32_t> Tokens(const ModelConfig& cfg, int64_t n, int64_t salt) {
  std::vector<int32_t> t(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) t[i] = static_cast<int32_t>(((i + salt) * 7919 + 13) % cfg.vocab_size);
  return t;
}

// Best of `rounds` of fn() (seconds).
template <class Fn>
double Best(int rounds, Fn&& fn) {
  double best = 1e30;
  for (int r = 0; r < rounds; ++r) best = std::min(best, fn());
  return best;
}

// GB/s of a read-only pass over buf, split over the pool's threads.
double StreamRate(const std::vector<uint64_t>& buf, ThreadPool& pool, int rounds) {
  uint64_t sum = 0;
  const double s = Best(rounds, [&] {
    const double t0 = Now();
    sum += aftune_bench::ReadPass(buf, pool);
    return Since(t0);
  });
  if (sum == 1) std::printf("#");  // keeps the passes live
  return static_cast<double>(buf.size()) * 8 / s / 1e9;
}

struct Model {
  LoadedModel loaded;
  std::unique_ptr<Decoder> decoder;
  // The matrices one decode step multiplies by: the projections and the head.
  std::vector<WeightView> projections;
  WeightView head;
  uint64_t step_bytes = 0;
};

Result<Model> Load(const std::string& dir) {
  Model m;
  AFTUNE_ASSIGN_OR_RETURN(m.loaded, LoadModelDir(dir));
  const ModelConfig& c = m.loaded.config;
  AFTUNE_ASSIGN_OR_RETURN(m.decoder, Decoder::Create(c, LoraConfig{}, WholeModel(c), &m.loaded.params, nullptr));
  const std::string head = c.tie_word_embeddings ? EmbeddingName() : HeadName();
  for (const auto& [name, view] : m.loaded.params) {
    if (view.shape.size() != 2 || name == EmbeddingName() || name == HeadName()) continue;
    m.projections.push_back(view);
  }
  m.head = m.loaded.params.at(head);
  for (const WeightView& w : m.projections) m.step_bytes += static_cast<uint64_t>(w.numel()) * DTypeSize(w.dtype);
  m.step_bytes += static_cast<uint64_t>(m.head.numel()) * DTypeSize(m.head.dtype);
  return m;
}

double PrefillSeconds(const Model& m, int64_t T) {
  KvCache cache(m.loaded.config, WholeModel(m.loaded.config), T);
  PackedBatch b;
  b.Add(Tokens(m.loaded.config, T, 0), {});
  Activations acts;
  const double t0 = Now();
  m.decoder->ForwardCached(b, {&cache}, &acts, true);
  return Since(t0);
}

// The matmuls of a prefill of T rows, alone: each projection at M = T, the head at M = 1.
double GemmSeconds(const Model& m, int64_t T) {
  int64_t widest = m.head.dim(0);
  for (const WeightView& w : m.projections) widest = std::max({widest, w.dim(0), w.dim(1)});
  std::vector<float> x(static_cast<size_t>(T * widest), 0.5f), y(static_cast<size_t>(T * widest));
  ThreadPool* pool = &DefaultPool();
  const double t0 = Now();
  for (const WeightView& w : m.projections)
    Gemm(Trans::kN, Trans::kT, T, w.dim(0), w.dim(1), x.data(), w.dim(1), w.matrix(), y.data(), w.dim(0), false, pool);
  Gemm(Trans::kN, Trans::kT, 1, m.head.dim(0), m.head.dim(1), x.data(), m.head.dim(1), m.head.matrix(), y.data(),
       m.head.dim(0), false, pool);
  return Since(t0);
}

// Seconds per step of `batch` sequences decoding `steps` tokens each from empty caches.
double DecodeStepSeconds(const Model& m, int64_t batch, int64_t steps) {
  const ModelConfig& c = m.loaded.config;
  std::vector<std::unique_ptr<KvCache>> caches;
  std::vector<KvCache*> ptrs;
  for (int64_t s = 0; s < batch; ++s) {
    caches.push_back(std::make_unique<KvCache>(c, WholeModel(c), steps));
    ptrs.push_back(caches.back().get());
  }
  Activations acts;
  const double t0 = Now();
  for (int64_t t = 0; t < steps; ++t) {
    PackedBatch b;
    b.starts.push_back(0);
    for (int64_t s = 0; s < batch; ++s) {
      b.tokens.push_back(Tokens(c, 1, t * batch + s)[0]);
      b.positions.push_back(static_cast<int32_t>(t));
      b.starts.push_back(b.num_tokens());
    }
    m.decoder->ForwardCached(b, ptrs, &acts, true);
  }
  return Since(t0) / static_cast<double>(steps);
}

int WriteLogits(const Model& m, const std::string& ids, const std::string& out) {
  std::vector<int32_t> tokens;
  for (int64_t id : ParseList(ids)) tokens.push_back(static_cast<int32_t>(id));
  PackedBatch b;
  b.Add(tokens, {});
  Activations acts;
  m.decoder->Forward(b, nullptr, false, &acts);
  std::ofstream f(out, std::ios::binary);
  f.write(reinterpret_cast<const char*>(acts.logits.data()), static_cast<std::streamsize>(acts.logits.numel() * 4));
  if (!f) {
    std::fprintf(stderr, "cannot write %s\n", out.c_str());
    return 1;
  }
  std::printf("wrote %lld x %lld logits to %s\n", static_cast<long long>(tokens.size()),
              static_cast<long long>(m.loaded.config.vocab_size), out.c_str());
  return 0;
}

int Main(int argc, char** argv) {
  std::string dir, logits, out, only;
  std::vector<int64_t> threads{1, 2}, prefill{128, 512}, batches{1, 8};
  int64_t steps = 32, rounds = 3, stream_mib = 1024;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--model") dir = value;
    else if (flag == "--threads") threads = ParseList(value);
    else if (flag == "--prefill") prefill = ParseList(value);
    else if (flag == "--decode") steps = std::atoll(value.c_str());
    else if (flag == "--batch") batches = ParseList(value);
    else if (flag == "--rounds") rounds = std::atoll(value.c_str());
    else if (flag == "--stream-mib") stream_mib = std::atoll(value.c_str());
    else if (flag == "--only") only = value;
    else if (flag == "--logits") logits = value;
    else if (flag == "--out") out = value;
    else if (flag == "--clock") g_cpu_clock = value == "cpu";
    else return std::fprintf(stderr, "unknown flag %s\n", flag.c_str()), 2;
  }
  if (dir.empty() || (argc - 1) % 2 != 0) {
    std::fprintf(stderr,
                 "usage: decode_bench --model DIR [--threads 1,2] [--prefill 128,512] [--decode 32] [--batch 1,8]\n"
                 "                    [--rounds 3] [--stream-mib 1024] [--only prefill|decode] [--clock wall|cpu]\n"
                 "       decode_bench --model DIR --logits IDS --out FILE\n");
    return 2;
  }
  Result<Model> loaded = Load(dir);
  if (!loaded.ok()) return std::fprintf(stderr, "%s\n", loaded.status().ToString().c_str()), 1;
  const Model& m = *loaded;
  if (!logits.empty()) return WriteLogits(m, logits, out);

  const ModelConfig& c = m.loaded.config;
  std::printf("model %s: %lld layers, hidden %lld, vocab %lld, %s weights; one decode step reads %.1f MiB\n",
              dir.c_str(), static_cast<long long>(c.num_hidden_layers), static_cast<long long>(c.hidden_size),
              static_cast<long long>(c.vocab_size), std::string(DTypeName(m.head.dtype)).c_str(),
              static_cast<double>(m.step_bytes) / (1 << 20));
  std::printf("load average at start: %s; %s clock\n", LoadAverage().c_str(), g_cpu_clock ? "cpu" : "wall");
  std::vector<uint64_t> buf(static_cast<size_t>(stream_mib << 17), 1);
  for (int64_t t : threads) {
    SetDefaultThreads(static_cast<int>(t));
    const double stream = StreamRate(buf, DefaultPool(), static_cast<int>(rounds));
    std::printf("threads %lld: stream read %.2f GB/s\n", static_cast<long long>(t), stream);
    DecodeStepSeconds(m, 1, 2);  // warm-up: pages every weight in
    if (only.empty() || only == "prefill")
      for (int64_t T : prefill) {
        const double p = Best(static_cast<int>(rounds), [&] { return PrefillSeconds(m, T); });
        const double g = Best(static_cast<int>(rounds), [&] { return GemmSeconds(m, T); });
        std::printf("  prefill %4lld: %8.3f s %9.1f tokens/s   matmuls alone %.3f s: prefill at %.2f of the GEMM\n",
                    static_cast<long long>(T), p, static_cast<double>(T) / p, g, g / p);
        std::fflush(stdout);
      }
    if (only.empty() || only == "decode") {
      double batch1 = 0;
      for (int64_t B : batches) {
        const double s = Best(static_cast<int>(rounds), [&] { return DecodeStepSeconds(m, B, steps); });
        const double tps = static_cast<double>(B) / s;
        if (B == 1) batch1 = tps;
        std::printf("  decode batch %2lld: %8.4f s/step %9.2f tokens/s", static_cast<long long>(B), s, tps);
        if (B == 1)
          std::printf("   %.2f GB/s of weights = %.2f of stream", static_cast<double>(m.step_bytes) / s / 1e9,
                      static_cast<double>(m.step_bytes) / s / 1e9 / stream);
        else if (batch1 > 0)
          std::printf("   %.2fx batch 1", tps / batch1);
        std::printf("\n");
        std::fflush(stdout);
      }
    }
  }
  std::printf("load average at end: %s\n", LoadAverage().c_str());
  return 0;
}

}  // namespace
}  // namespace aftune

int main(int argc, char** argv) { return aftune::Main(argc, argv); }
