// Encoding throughput of aftune's tokenizer.json tokenizer against
// @lenml/tokenizers (the JS port of Hugging Face tokenizers, run under node),
// same corpus, same run, on the real tokenizers of Llama 3.1 and Qwen2.5.
//
//   build/bench/tokenize_bench [MEGABYTES] [REPS]     (default 10 MB, 3 repetitions)
//
// The corpus is made deterministically from the words of the tokenizer test
// corpus (tests/tokenizer/corpus.jsonl: many scripts, emoji and ZWJ
// sequences, code, digits, contractions, runs of whitespace), drawn into
// lines of 4 to 60 words, until it holds MEGABYTES of UTF-8. Both sides
// encode every line without special tokens; the ids must agree (a checksum
// of every id, in order) before any rate is printed. aftune runs on one
// thread (encoding is single-threaded), so its MB/s is per core; the port's
// is node's single JS thread.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "base/file.h"
#include "model/hf_tokenizer.h"

namespace {

using Json = nlohmann::json;

const std::string kSource = AFTUNE_SOURCE_DIR;

std::vector<std::string> CorpusWords() {
  std::vector<std::string> words;
  const std::string text = aftune::ReadFile(kSource + "/tests/tokenizer/corpus.jsonl").value();
  size_t start = 0;
  for (size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1) {
    const std::string line = Json::parse(text.substr(start, nl - start)).get<std::string>();
    size_t w = 0;
    for (size_t i = 0; i <= line.size(); ++i) {
      if (i == line.size() || line[i] == ' ') {
        if (i > w) words.push_back(line.substr(w, i - w));
        w = i + 1;
      }
    }
  }
  return words;
}

// Lines of words joined by one space (sometimes a newline, a tab or two
// spaces), with numbers mixed in, to `bytes` of text.
std::vector<std::string> MakeCorpus(size_t bytes) {
  const std::vector<std::string> words = CorpusWords();
  uint64_t s = 0x9E3779B97F4A7C15ull;
  auto next = [&s] {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  };
  const char* seps[] = {" ", " ", " ", " ", " ", " ", "  ", "\n", "\t", ", "};
  std::vector<std::string> lines;
  size_t total = 0;
  while (total < bytes) {
    std::string line;
    const int n = 4 + static_cast<int>(next() % 57);
    for (int i = 0; i < n; ++i) {
      if (i > 0) line += seps[next() % 10];
      line += next() % 12 == 0 ? std::to_string(next() % 100000) : words[next() % words.size()];
    }
    total += line.size();
    lines.push_back(std::move(line));
  }
  return lines;
}

uint32_t Fnv(uint32_t h, uint32_t v) { return (h ^ v) * 16777619u; }

struct Run {
  double seconds = 1e300;
  uint64_t ids = 0;
  uint32_t checksum = 2166136261u;
};

Run EncodeAll(const aftune::HfTokenizer& tok, const std::vector<std::string>& lines, int reps) {
  Run run;
  std::vector<std::vector<int32_t>> out(lines.size());
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    for (size_t i = 0; i < lines.size(); ++i) out[i] = tok.Encode(lines[i]);
    run.seconds = std::min(run.seconds, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  for (const auto& ids : out) {
    for (int32_t id : ids) run.checksum = Fnv(run.checksum, static_cast<uint32_t>(id));
    run.checksum = Fnv(run.checksum, 0xffffffffu);
    run.ids += ids.size();
  }
  return run;
}

Json RunPort(const std::string& model, const std::string& corpus, int reps) {
  const std::string cmd = "NODE_PATH=" + kSource + "/tests/npm/node_modules node " + kSource +
                          "/bench/tokenize_port.js " + model + " " + corpus + " " + std::to_string(reps);
  FILE* p = ::popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  while (p && std::fgets(buf, sizeof buf, p)) out += buf;
  if (!p || ::pclose(p) != 0) {
    std::fprintf(stderr, "tokenize_bench: `%s` failed (scripts/bootstrap.sh --tests installs the port)\n",
                 cmd.c_str());
    std::exit(1);
  }
  return Json::parse(out);
}

}  // namespace

int main(int argc, char** argv) {
  const double megabytes = argc > 1 ? std::atof(argv[1]) : 10.0;
  const int reps = argc > 2 ? std::atoi(argv[2]) : 3;
  const std::vector<std::string> lines = MakeCorpus(static_cast<size_t>(megabytes * 1e6));
  std::string jsonl;
  size_t bytes = 0;
  for (const std::string& l : lines) {
    jsonl += Json(l).dump() + "\n";
    bytes += l.size();
  }
  const std::string corpus = "/tmp/aftune-tokenize-bench-" + std::to_string(::getpid()) + ".jsonl";
  if (!aftune::WriteFileAtomic(corpus, jsonl).ok()) return 1;
  std::printf("corpus: %zu lines, %.2f MB of UTF-8 (from tests/tokenizer/corpus.jsonl's words); best of %d\n\n",
              lines.size(), bytes / 1e6, reps);
  std::printf("%-10s %10s %12s %12s %8s\n", "tokenizer", "ids", "aftune MB/s", "port MB/s", "ratio");
  int status = 0;
  for (const char* model : {"llama3_1", "qwen2_5"}) {
    const std::string path = kSource + "/tests/npm/node_modules/@lenml/tokenizer-" + model + "/models/tokenizer.json";
    auto tok = aftune::HfTokenizer::Load(path, {0, 0, -1, 0});
    if (!tok.ok()) {
      std::fprintf(stderr, "%s\n", tok.status().ToString().c_str());
      return 1;
    }
    const Run mine = EncodeAll(**tok, lines, reps);
    const Json port = RunPort(model, corpus, reps);
    if (port["ids"].get<uint64_t>() != mine.ids || port["checksum"].get<uint32_t>() != mine.checksum) {
      std::printf("%-10s ids differ from the port's (%llu vs %llu ids): no rate reported\n", model,
                  (unsigned long long)mine.ids, (unsigned long long)port["ids"].get<uint64_t>());
      status = 1;
      continue;
    }
    const double ours = bytes / 1e6 / mine.seconds, theirs = bytes / 1e6 / port["seconds"].get<double>();
    std::printf("%-10s %10llu %12.2f %12.2f %7.2fx\n", model, (unsigned long long)mine.ids, ours, theirs, ours / theirs);
  }
  std::remove(corpus.c_str());
  return status;
}
