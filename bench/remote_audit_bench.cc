// The remote training audit against the local one (issue 12), in one run:
// a 64-step LoRA fine-tuning of the `small` preset recorded with B_S = 8,
// B_L = 2 (4 layer-blocks x 8 step-blocks = 32 cells), every state and
// boundary kept (I_C = I_A = 1), then `aftune audit train --samples 8` of
// the same drawn cells (one nonce) read through the run directory (local),
// through `aftune provide --model` on loopback with the auditor's own base
// (remote) and without it (remote, no base: the base's files and the cells'
// slices from the provider, proven), in turn, `kRepeats` times each; the
// median wall and CPU time of the auditor's process, and the bytes the
// remote audits fetched, per cell. The target: remote wall time <= 1.2 x
// local.
//
// A first local audit, not counted, warms the caches; every opening is then
// read from the run's store (which keeps every state and boundary, and the
// final block states). The provider is one more process on the same
// machine: its CPU time is not the auditor's and is not counted.
//
// Usage: remote_audit_bench [threads (default 1)] [work dir (default a temp dir)]
#include <signal.h>

#include <algorithm>
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

namespace aftune {
namespace {

constexpr int kSteps = 64, kExamples = 256, kSamples = 8, kRepeats = 3;

std::string Dataset() {
  std::string s;
  for (int i = 0; i < kExamples; ++i) {
    const int a = (i * 37) % 101, b = (i * 53) % 97;
    s += "{\"text\": \"" + std::to_string(a) + " plus " + std::to_string(b) + " is " + std::to_string(a + b) + ".\"}\n";
  }
  return s;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace
}  // namespace aftune

int main(int argc, char** argv) {
  using namespace aftune;
  using bench::RunAftune;
  const std::string threads = argc > 1 ? argv[1] : "1";
  const std::string dir =
      argc > 2 ? argv[2] : (std::filesystem::temp_directory_path() / "aftune-remote-audit-bench").string();
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  if (!WriteFileAtomic(dir + "/data.jsonl", Dataset()).ok()) return 1;
  const std::string t = "--threads=" + threads;
  RunAftune({"model", "init", "--preset", "small", "--seed", "1", "--out", dir + "/base"}, dir + "/init.log");
  RunAftune({"keygen", "--name", "bench.example/provider", "--out", dir + "/provider"}, dir + "/keygen.log");
  RunAftune({"contract", "create", "--base", dir + "/base", "--data", dir + "/data.jsonl", "--out",
             dir + "/contract.json", "--max_steps", std::to_string(kSteps), "--per_device_train_batch_size", "8",
             "--max_seq_length", "64", "--r", "8", "--target_modules",
             "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj", "--steps_per_block", "8",
             "--layers_per_block", "2", "--checkpoint_interval", "1", "--activation_interval", "1"},
            dir + "/contract.log");
  RunAftune({"train", "--contract", dir + "/contract.json", "--key", dir + "/provider.key", "--data",
             dir + "/data.jsonl", "--model", dir + "/base", "--out", dir + "/run", t},
            dir + "/train.log");
  const std::string secret = "bench-auditor-secret-0123456789";
  if (!WriteFileAtomic(dir + "/tokens", "auditor " + secret + " run\n").ok() ||
      !WriteFileAtomic(dir + "/auditor.token", secret + "\n").ok())
    return 1;
  std::filesystem::permissions(dir + "/tokens", std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  const std::vector<std::string> common = {
      "audit", "train", "--contract", dir + "/contract.json", "--commitment", dir + "/run/commitment.note", "--pub",
      dir + "/provider.pub", "--data", dir + "/data.jsonl", "--samples", std::to_string(kSamples), "--nonce",
      "0123456789abcdef", t};
  auto audit = [&](const std::vector<std::string>& source, const std::string& name) {
    std::vector<std::string> args = common;
    args.insert(args.end(), source.begin(), source.end());
    args.insert(args.end(), {"--report", dir + "/" + name + ".json"});
    return RunAftune(args, dir + "/" + name + ".log");
  };
  const std::vector<std::string> model = {"--model", dir + "/base"};
  audit({"--run", dir + "/run", "--model", dir + "/base"}, "warmup");
  const pid_t provider = bench::StartAftune(
      {"provide", "--run", dir + "/run", "--model", dir + "/base", "--tokens", dir + "/tokens", "--port", "0", t},
      dir + "/provide.log");
  const std::string url = bench::WaitForUrl(dir + "/provide.log", 60);
  const std::vector<std::string> remote = {"--provider", url, "--token-file", dir + "/auditor.token", "--weights",
                                           dir + "/run/adapter/adapter_model.safetensors"};
  std::vector<std::string> remote_own = remote;
  remote_own.insert(remote_own.end(), model.begin(), model.end());
  struct Variant {
    const char* label;
    std::string name;
    std::vector<std::string> args;
    std::vector<double> wall, cpu;
  };
  std::vector<Variant> variants = {{"local (--run --model)", "local", {"--run", dir + "/run", "--model", dir + "/base"}, {}, {}},
                                   {"remote (--provider --model, loopback)", "remote", remote_own, {}, {}},
                                   {"remote, no base (--provider, loopback)", "nobase", remote, {}, {}}};
  for (int k = 0; k < kRepeats; ++k)
    for (Variant& v : variants) {
      const bench::Cost c = audit(v.args, v.name + "-" + std::to_string(k));
      v.wall.push_back(c.wall_s);
      v.cpu.push_back(c.cpu_s);
    }
  ::kill(provider, SIGTERM);
  std::printf("remote vs local training audit, S = %d of 32 cells, small preset, %s, median of %d\n\n", kSamples,
              t.c_str(), kRepeats);
  std::printf("| audit | verdict | wall s | CPU s | wall / local |\n|---|---|---|---|---|\n");
  std::vector<nlohmann::json> reports;
  for (const Variant& v : variants) {
    reports.push_back(nlohmann::json::parse(ReadFile(dir + "/" + v.name + "-0.json").value()));
    std::printf("| %s | %s | %.2f | %.2f | %.3f |\n", v.label, reports.back()["verdict"].get<std::string>().c_str(),
                Median(v.wall), Median(v.cpu), Median(v.wall) / Median(variants[0].wall));
  }
  std::printf("\ntarget: remote wall <= 1.2 x local\n");
  for (size_t i = 1; i < variants.size(); ++i) {
    const auto& f = reports[i]["fetched"];
    std::printf("%s fetched: %lld bytes in %lld requests = %.0f bytes per cell (lines %lld B, states %lld B, "
                "boundaries %lld B, base files %lld B, base slices %lld in %lld B)\n",
                variants[i].name.c_str(), f["bytes"].get<long long>(), f["requests"].get<long long>(),
                f["bytes"].get<double>() / kSamples, f["lines"]["bytes"].get<long long>(),
                f["states"]["bytes"].get<long long>(), f["boundaries"]["bytes"].get<long long>(),
                f["base_files"]["bytes"].get<long long>(), f["base_slices"]["count"].get<long long>(),
                f["base_slices"]["bytes"].get<long long>());
  }
  auto outcomes = [](const nlohmann::json& r) {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& c : r["checks"]) out.emplace_back(c["check"], c["result"]);
    return out;
  };
  std::printf("same checks as local: remote %s, no base %s\n", reports[0]["checks"] == reports[1]["checks"] ? "yes" : "NO",
              outcomes(reports[0]) == outcomes(reports[2]) ? "yes (check and result)" : "NO");
  return 0;
}
