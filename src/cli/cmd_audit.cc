// aftune audit train --contract C --commitment RUN/commitment.note --pub KEY.pub
//                    --data FILE --samples S
//                    (--model BASE_DIR --run RUN | --provider URL --token-file F --weights W [--model BASE_DIR])
//                    [--nonce HEX] [--strategy uniform|input|weighted]
//                    [--cells "L,S;…"] [--report FILE] [--html FILE]
//   audits a recorded training run by exact re-execution of sampled cells
//   (audit/train_audit.h; docs/audit.md). The run is read through its
//   openings: with --run, the run directory's (trace/run_openings.h) and
//   its delivered weights (RUN/adapter/adapter_model.safetensors or
//   RUN/model/, either layout); with --provider, the provider's audit
//   service (client/remote_openings.h; the run named by the commitment's
//   SHA-256) and the delivered weights the client received (--weights).
//   The base is --model, or without it the provider's slices, each tensor
//   proven under the contract's base state digest (client/remote_base.h).
//   A remote audit reports what it fetched and how many bytes.
//   Under mpirun it is the audit farm (audit/audit_farm.h): the ranks share
//   the cells, rank 0 prints and writes the verdict, and every rank exits
//   with rank 0's status.
//   Exit status: 0 pass, 3 fail (a violation was found), 1 could not audit
//   (the message names the input), 2 usage.
#include <sys/random.h>

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "audit/audit_farm.h"
#include "audit/report_html.h"
#include "audit/train_audit.h"
#include "base/file.h"
#include "cli/commands.h"
#include "client/remote_base.h"
#include "client/remote_openings.h"
#include "commit/encoding.h"
#include "dist/communicator.h"
#include "protocol/contract.h"
#include "trace/run_openings.h"

namespace aftune::cli {

Result<std::vector<uint8_t>> AuditNonce(const std::string& hex) {
  constexpr size_t kMaxNonceBytes = 64;
  std::vector<uint8_t> out;
  if (hex.empty()) {
    out.resize(16);
    if (::getrandom(out.data(), out.size(), 0) != static_cast<ssize_t>(out.size()))
      return Status::IOError("cannot draw a nonce from the OS (getrandom)");
    return out;
  }
  Result<std::vector<uint8_t>> bytes = HexDecode(hex);
  if (!bytes.ok() || bytes->size() > kMaxNonceBytes)
    return Status::InvalidArgument("--nonce '" + hex + "': expected 2 to " + std::to_string(2 * kMaxNonceBytes) +
                                   " lowercase hex digits, an even number");
  return bytes;
}

namespace {

struct AuditArgs {
  std::string contract, commitment, pub, data, model, run, provider, token_file, weights, nonce, strategy = "uniform",
      cells, report, html;
  int64_t samples = -1;
};

nlohmann::json FetchedJson(const FetchTally& f) {
  return {{"requests", f.requests}, {"bytes", f.bytes()},
          {"lines", {{"count", f.lines}, {"bytes", f.line_bytes}}},
          {"states", {{"count", f.states}, {"bytes", f.state_bytes}}},
          {"boundaries", {{"count", f.boundaries}, {"bytes", f.boundary_bytes}}},
          {"base_files", {{"count", f.base_files}, {"bytes", f.base_file_bytes}}},
          {"base_slices", {{"count", f.slices}, {"bytes", f.slice_bytes}}}};
}

std::string FetchedSummary(const FetchTally& f) {
  std::string base;
  if (f.base_files > 0 || f.slices > 0)
    base = "; " + std::to_string(f.base_files) + " base files, " + std::to_string(f.base_file_bytes) + " B; " +
           std::to_string(f.slices) + " base slices, " + std::to_string(f.slice_bytes) + " B";
  return "fetched from the provider: " + std::to_string(f.bytes()) + " bytes in " + std::to_string(f.requests) +
         " requests (" + std::to_string(f.lines) + " trace lines, " + std::to_string(f.line_bytes) + " B; " +
         std::to_string(f.states) + " block states, " + std::to_string(f.state_bytes) + " B; " +
         std::to_string(f.boundaries) + " boundaries, " + std::to_string(f.boundary_bytes) + " B" + base + ")\n";
}

// Where the run's openings, its base and its delivered weights are read.
struct RunSource {
  std::unique_ptr<ProviderClient> provider;  // with --provider
  std::unique_ptr<OpeningSource> openings;
  std::unique_ptr<BaseSource> base;
  std::string weights;
};

Result<RunSource> OpenRunSource(const AuditArgs& a, const Contract& contract, const std::string& note) {
  if (a.run.empty() == a.provider.empty())
    return Status::InvalidArgument("give exactly one of --run and --provider");
  RunSource out;
  if (!a.model.empty()) out.base = std::make_unique<ModelDirBase>(a.model);
  if (!a.run.empty()) {
    if (!out.base) return Status::InvalidArgument("--run needs --model, the base model directory");
    AFTUNE_ASSIGN_OR_RETURN(out.openings, RunOpenings::Open(a.run));
    out.weights = contract.training.full_finetune ? a.run + "/model"  // either layout
                                                  : a.run + "/adapter/adapter_model.safetensors";
    return out;
  }
  if (a.token_file.empty() || a.weights.empty())
    return Status::InvalidArgument("--provider needs --token-file and --weights");
  AFTUNE_ASSIGN_OR_RETURN(std::string token, ReadBearerTokenFile(a.token_file));
  AFTUNE_ASSIGN_OR_RETURN(out.provider, ProviderClient::Create(a.provider, std::move(token), Sha256Of(note)));
  AFTUNE_RETURN_IF_ERROR(out.provider->CheckAccess());
  out.openings = std::make_unique<RemoteOpenings>(out.provider.get());
  if (!out.base) {
    AFTUNE_ASSIGN_OR_RETURN(out.base, RemoteBase::Open(out.provider.get(), contract.tokenizer_kind));
  }
  out.weights = a.weights;
  return out;
}

// What the audit reads before it starts.
struct AuditSetup {
  std::vector<uint8_t> nonce;
  ChallengeStrategy strategy = ChallengeStrategy::kUniform;
  Contract contract;
  std::string note;
  PublicKey provider;
  RunSource source;
};

Result<AuditSetup> SetUp(const AuditArgs& a, AuditFarm& farm) {
  AuditSetup s;
  AFTUNE_ASSIGN_OR_RETURN(s.nonce, farm.Nonce(AuditNonce(a.nonce)));
  AFTUNE_ASSIGN_OR_RETURN(s.strategy, ParseChallengeStrategy(a.strategy));
  AFTUNE_ASSIGN_OR_RETURN(s.contract, ReadContract(a.contract));
  AFTUNE_ASSIGN_OR_RETURN(s.note, ReadFile(a.commitment));
  AFTUNE_ASSIGN_OR_RETURN(s.provider, ReadPublicKeyFile(a.pub));
  AFTUNE_ASSIGN_OR_RETURN(s.source, OpenRunSource(a, s.contract, s.note));
  return s;
}

// The audit's report, or why it could not be made (on a worker rank of the
// farm: an empty outcome once rank 0 has its part).
Result<AuditOutcome> RunAudit(const AuditArgs& a, AuditFarm& farm) {
  Result<AuditSetup> s = SetUp(a, farm);
  if (!s.ok()) return farm.Failed(s.status());
  TrainAuditInputs in{a.contract,        s->note, s->provider, a.data, s->source.weights, s->source.openings.get(),
                      s->source.base.get()};
  ChallengeRequest challenge{a.samples, s->nonce, s->strategy, std::nullopt};
  if (!a.cells.empty()) challenge.cells = a.cells;
  return farm.Audit(in, challenge, s->source.provider.get());
}

Status WriteOutputs(const AuditArgs& a, const AuditOutcome& r) {
  if (!a.report.empty()) {
    nlohmann::json j = ReportJson(r.report);
    if (r.fetched) j["fetched"] = FetchedJson(*r.fetched);
    AFTUNE_RETURN_IF_ERROR(WriteFileAtomic(a.report, j.dump(2) + "\n"));
  }
  if (!a.html.empty()) AFTUNE_RETURN_IF_ERROR(WriteFileAtomic(a.html, ReportHtml(r.report)));
  return Status::Ok();
}

void AuditAsRank(const AuditArgs& a, AuditFarm& farm) {
  Result<AuditOutcome> r = RunAudit(a, farm);
  if (!farm.verdict_here()) return;
  if (!r.ok()) return Finish(r.status().WithContext("could not audit"));
  std::fputs(ReportSummary(r->report).c_str(), stdout);
  if (r->fetched) std::fputs(FetchedSummary(*r->fetched).c_str(), stdout);
  const Status written = WriteOutputs(a, *r);
  if (!written.ok()) return Finish(written);
  SetExitCode(r->report.passed() ? 0 : kExitAuditFailed);
}

void AuditTrain(const AuditArgs& a) {
  Result<std::unique_ptr<Communicator>> comm = JoinJob();
  if (!comm.ok()) return Finish(comm.status());
  AuditFarm farm(comm->get());
  AuditAsRank(a, farm);
  SetExitCode(farm.JobExitCode(ExitCode()));
  comm->reset();  // finalises MPI
}

}  // namespace

void RegisterAuditCommands(CLI::App& app) {
  auto* audit = app.add_subcommand("audit", "audit a provider's work by exact re-execution");
  audit->require_subcommand(1);
  auto args = std::make_shared<AuditArgs>();
  auto* c = audit->add_subcommand("train", "audit a recorded training run (exit 0 pass, 3 fail, 1 could not audit)");
  c->add_option("--contract", args->contract, "the training contract")->required();
  c->add_option("--commitment", args->commitment, "the signed training commitment (RUN/commitment.note)")->required();
  c->add_option("--pub", args->pub, "the provider's public key file")->required();
  c->add_option("--data", args->data, "the client's dataset (JSONL)")->required();
  c->add_option("--model", args->model,
                "the base model directory (to re-execute cells); without it, with --provider, the provider's "
                "proven base slices");
  c->add_option("--run", args->run, "the run directory, read through its openings");
  c->add_option("--provider", args->provider, "the provider's audit service, http://HOST:PORT (instead of --run)");
  c->add_option("--token-file", args->token_file, "the bearer token for --provider (one line)");
  c->add_option("--weights", args->weights,
                "the delivered weights received (with --provider): adapter_model.safetensors or the model");
  c->add_option("--samples", args->samples, "cells to re-execute (at least the grid's size: all)")
      ->required()
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 40));
  c->add_option("--nonce", args->nonce, "challenge nonce, hex (default: 16 random bytes)");
  c->add_option("--strategy", args->strategy, "uniform | input | weighted (docs/audit.md)")
      ->check(CLI::IsMember({"uniform", "input", "weighted"}));
  c->add_option("--cells", args->cells, "exactly these cells, \"L,S;L,S;…\" (replaces the draw)");
  c->add_option("--report", args->report, "write the JSON report here");
  c->add_option("--html", args->html, "write a self-contained HTML report here");
  AddThreadsOption(c);
  c->callback([args] { AuditTrain(*args); });
  RegisterAuditInferCommand(audit);
}

}  // namespace aftune::cli
