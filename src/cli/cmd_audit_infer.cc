// aftune audit infer --model DIR [--adapter DIR] [--commitment NOTE]
//                    --pub provider.pub --receipts FILE --server URL
//                    --samples S [--nonce HEX] [--report FILE] [--html FILE]
//   audits the inference a provider served: every receipt in the client's
//   receipts file is checked (signature, log inclusion, digests, model) and
//   every checkpoint seen against the server's latest; S receipts drawn with
//   the nonce are re-executed with the committed model
//   (audit/infer_audit.h; docs/audit.md, "Inference audit").
//   Exit status: 0 pass, 3 fail (a violation was found), 1 could not audit
//   (the message names the input), 2 usage.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "audit/infer_audit.h"
#include "base/file.h"
#include "cli/commands.h"
#include "client/serve_client.h"
#include "client/server_log_view.h"

namespace aftune::cli {

namespace {

struct InferAuditArgs {
  std::string model, adapter, commitment, pub, receipts, server, nonce, report, html;
  int64_t samples = -1;
};

Result<InferAuditReport> RunAudit(const InferAuditArgs& a) {
  AFTUNE_ASSIGN_OR_RETURN(std::vector<uint8_t> nonce, AuditNonce(a.nonce));
  AFTUNE_ASSIGN_OR_RETURN(PublicKey provider, ReadPublicKeyFile(a.pub));
  AFTUNE_ASSIGN_OR_RETURN(std::vector<ReceiptBundle> receipts, ReadReceiptsFile(a.receipts));
  AFTUNE_ASSIGN_OR_RETURN(std::unique_ptr<ServedModel> model, LoadServedModel(a.model, a.adapter));
  InferAuditInputs in;
  in.model = model.get();
  AFTUNE_ASSIGN_OR_RETURN(ServedWeightsDigests digests, ServedWeightsDigest(a.model, a.adapter));
  in.model_digest = digests.model;
  in.adapter_digest = digests.adapter;
  if (!a.commitment.empty()) {
    AFTUNE_ASSIGN_OR_RETURN(std::string note, ReadFile(a.commitment));
    in.commitment_note = std::move(note);
  }
  in.provider = provider;
  in.receipts = std::move(receipts);
  AFTUNE_ASSIGN_OR_RETURN(std::unique_ptr<ServeClient> client, ServeClient::Create(a.server));
  ServerLogView log(*client);
  in.log = &log;
  return AuditInference(in, {a.samples, nonce});
}

void AuditInfer(const InferAuditArgs& a) {
  Result<InferAuditReport> r = RunAudit(a);
  if (!r.ok()) return Finish(r.status().WithContext("could not audit"));
  std::fputs(InferReportSummary(*r).c_str(), stdout);
  if (!a.report.empty()) {
    const Status st = WriteFileAtomic(a.report, InferReportJson(*r).dump(2) + "\n");
    if (!st.ok()) return Finish(st);
  }
  if (!a.html.empty()) {
    const Status st = WriteFileAtomic(a.html, InferReportHtml(*r));
    if (!st.ok()) return Finish(st);
  }
  SetExitCode(r->passed() ? 0 : kExitAuditFailed);
}

}  // namespace

void RegisterAuditInferCommand(CLI::App* audit) {
  auto args = std::make_shared<InferAuditArgs>();
  auto* c = audit->add_subcommand("infer", "audit served inference from receipts (exit 0 pass, 3 fail, 1 could not audit)");
  c->add_option("--model", args->model, "the committed model directory (to re-execute)")->required();
  c->add_option("--adapter", args->adapter, "the committed adapter directory, when one is served");
  c->add_option("--commitment", args->commitment, "the training commitment note the receipts name");
  c->add_option("--pub", args->pub, "the provider's public key file")->required();
  c->add_option("--receipts", args->receipts, "the receipts file aftune client wrote")->required();
  c->add_option("--server", args->server, "the provider's server, http://HOST:PORT (log and proofs)")->required();
  c->add_option("--samples", args->samples, "receipts to re-execute (at least the file's count: all)")
      ->required()
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 31));
  c->add_option("--nonce", args->nonce, "challenge nonce, hex (default: 16 random bytes)");
  c->add_option("--report", args->report, "write the JSON report here");
  c->add_option("--html", args->html, "write a self-contained HTML report here");
  AddThreadsOption(c);
  c->callback([args] { AuditInfer(*args); });
}

}  // namespace aftune::cli
