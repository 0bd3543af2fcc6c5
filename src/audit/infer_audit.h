// The inference audit (DESIGN.md, "Protocols / Inference audit"; issue 6;
// docs/audit.md, "Inference audit"): from the client's receipts file, the
// provider's public key, the provider's log (through a LogView) and the
// committed model, check every receipt and re-execute a sample of them.
//
// Checks, each over every receipt (docs/audit.md lists their evidence):
//   receipt.digests     the receipt parses, names its log index, and its
//                       request and response digests are those of the
//                       request and completion recorded beside it
//   receipt.signature   the receipt note verifies under the provider's key
//   checkpoint.signature every checkpoint the client saw, and the log's
//                       latest, verifies under the provider's key
//   log.consistency     every checkpoint the client saw is a prefix of the
//                       log's latest (RFC 6962 consistency proofs)
//   receipt.inclusion   each receipt is a leaf of the checkpoint the client
//                       received with it (RFC 6962 inclusion proofs)
//   receipt.model       model and adapter digests are the committed ones
//   receipt.commitment  (when a commitment is given or named) the note
//                       verifies, names the served weights, and every
//                       receipt names its SHA-256
// Then the draw: challenge_seed = SHA-256(root of the largest checkpoint in
// the receipts file ‖ nonce) (audit/challenge.h ChallengeSeed); the sample is
// DrawIndices(seed, receipts, samples) over the file's receipts in file
// order. Each sampled receipt is re-executed with one teacher-forced pass
// (infer/generator.h ReplayChoices):
//   reexec.request      the request is runnable on the model (Validate)
//   reexec.tokens       every generated token is the sampler's choice
//   reexec.finish       generation stops exactly where the generator would:
//                       no EOS or stop string before the last token, and
//                       the last token is EOS, completes a stop string or
//                       reaches max_tokens
//   reexec.logprobs     (receipts whose request asked for logprobs) every
//                       reported logprob and top alternative equals, bit
//                       for bit, infer/logprobs.h over the replay's logits
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "audit/infer_report.h"
#include "protocol/log_view.h"
#include "commit/key.h"
#include "infer/served_model.h"
#include "protocol/receipt_bundle.h"

namespace aftune {

struct InferAuditInputs {
  const ServedModel* model = nullptr;  // the committed model, to re-execute
  Hash model_digest{};                 // state digest of its model.safetensors
  std::optional<Hash> adapter_digest;  // of its adapter, when one is served
  std::optional<std::string> commitment_note;  // training commitment, as received
  PublicKey provider;
  std::vector<ReceiptBundle> receipts;  // the receipts file, in file order
  LogView* log = nullptr;
};

struct InferChallenge {
  int64_t samples = 0;
  std::vector<uint8_t> nonce;  // at least 1 byte
};

// The receipts file (docs/formats.md, "Receipts file"): one bundle per
// non-empty line. kCorruption naming the line; kInvalidArgument when empty.
Result<std::vector<ReceiptBundle>> ReadReceiptsFile(const std::string& path);

// The report, whatever the verdict. A non-ok status means the audit could
// not be carried out: no receipts, an empty nonce, a receipt naming a
// training commitment when none is given (kInvalidArgument), the log
// unreachable (kIOError).
// REQUIRES: in.model and in.log non-null.
Result<InferAuditReport> AuditInference(const InferAuditInputs& in, const InferChallenge& challenge);

}  // namespace aftune
