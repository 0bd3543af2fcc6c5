#include "audit/infer_audit.h"

#include <time.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <sstream>

#include "audit/challenge.h"
#include "audit/check_tally.h"
#include "base/file.h"
#include "base/strict_json.h"
#include "commit/checkpoint.h"
#include "commit/encoding.h"
#include "commit/note.h"
#include "protocol/request.h"
#include "protocol/commitment.h"

namespace aftune {

namespace {

using Json = nlohmann::json;

Json HexOrNull(const std::optional<Hash>& h) { return h ? Json(HashToHex(*h)) : Json(nullptr); }

Json CheckpointJson(const Checkpoint& c) { return {{"size", c.size}, {"root", HashToHex(c.root)}}; }

std::string Line(size_t i) { return "receipts line " + std::to_string(i + 1); }

// The checkpoint a note carries, without verifying its signature.
Result<Checkpoint> UnverifiedCheckpoint(const std::string& note) {
  AFTUNE_ASSIGN_OR_RETURN(std::string text, UnverifiedNoteText(note));
  return ParseCheckpoint(text);
}

// The receipt a note carries, without verifying its signature.
std::optional<Receipt> UnverifiedReceipt(const std::string& note) {
  Result<std::string> text = UnverifiedNoteText(note);
  if (!text.ok()) return std::nullopt;
  Result<Receipt> r = ParseReceiptText(*text);
  return r.ok() ? std::optional(*r) : std::nullopt;
}

// The provider log's failure to answer is a finding; an unreachable log is
// not (the audit could not be carried out).
bool Unreachable(const Status& s) { return s.code() == Status::Code::kIOError; }

double ProcessCpuSeconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// Everything the audit learns about the receipts before the draw.
struct Ledger {
  std::vector<std::optional<Checkpoint>> checkpoints;  // [receipt]: as received, unverified
  std::optional<Checkpoint> latest;                    // the log's, verified
};

void CheckReceipts(const InferAuditInputs& in, InferAuditReport& r) {
  CheckTally digests("receipt.digests"), signature("receipt.signature"), model("receipt.model");
  for (size_t i = 0; i < in.receipts.size(); ++i) {
    const ReceiptBundle& b = in.receipts[i];
    const Result<Receipt> bundle = CheckReceiptBundle(b);
    digests.Expect(bundle.ok(), Line(i) + ": " + bundle.status().ToString(), {{"line", i + 1}});
    const Result<Receipt> signed_receipt = VerifyReceipt(b.receipt, in.provider);
    signature.Expect(signed_receipt.ok(), Line(i) + ": " + signed_receipt.status().ToString(),
                     {{"line", i + 1}, {"log_index", b.log_index}});
    if (!bundle.ok()) continue;
    model.Expect(bundle->model == in.model_digest && bundle->adapter == in.adapter_digest,
                 Line(i) + ": the receipt names model " + HashToHex(bundle->model) + ", adapter " +
                     HexOrNull(bundle->adapter).dump() + "; the committed model is " + HashToHex(in.model_digest) +
                     ", adapter " + HexOrNull(in.adapter_digest).dump(),
                 {{"line", i + 1},
                  {"expected", {{"model", HashToHex(in.model_digest)}, {"adapter", HexOrNull(in.adapter_digest)}}},
                  {"found", {{"model", HashToHex(bundle->model)}, {"adapter", HexOrNull(bundle->adapter)}}}});
  }
  r.Add(digests.Done("request and response digests"));
  r.Add(signature.Done("receipt signatures"));
  r.Add(model.Done("model and adapter digests"));
}

// receipt.commitment. kInvalidArgument when a receipt names a commitment the
// auditor was not given.
Status CheckCommitment(const InferAuditInputs& in, InferAuditReport& r) {
  std::optional<Hash> named;
  for (size_t i = 0; i < in.receipts.size() && !named; ++i) {
    const std::optional<Receipt> rc = UnverifiedReceipt(in.receipts[i].receipt);
    if (rc && rc->commitment) named = rc->commitment;
  }
  if (!in.commitment_note) {
    if (named)
      return Status::InvalidArgument("the receipts name training commitment " + HashToHex(*named) +
                                     ": give its note (--commitment) to check the chain");
    return Status::Ok();
  }
  const Hash digest = Sha256Of(*in.commitment_note);
  r.served["commitment"] = HashToHex(digest);
  const Result<TrainingCommitment> c = VerifyCommitment(*in.commitment_note, in.provider);
  const Hash served = in.adapter_digest ? *in.adapter_digest : in.model_digest;
  if (!c.ok() || c->weights != served) {
    r.Add({"receipt.commitment", false,
           !c.ok() ? "the training commitment does not verify: " + c.status().ToString()
                   : "the training commitment names weights " + HashToHex(c->weights) + ", not the served " +
                         HashToHex(served),
           std::nullopt, {{"commitment", HashToHex(digest)}}});
    return Status::Ok();
  }
  CheckTally tally("receipt.commitment");
  for (size_t i = 0; i < in.receipts.size(); ++i) {
    const std::optional<Receipt> rc = UnverifiedReceipt(in.receipts[i].receipt);
    const std::optional<Hash> found = rc ? rc->commitment : std::nullopt;
    tally.Expect(found == digest, Line(i) + ": the receipt names commitment " + HexOrNull(found).dump(),
                 {{"line", i + 1}, {"expected", HashToHex(digest)}, {"found", HexOrNull(found)}});
  }
  r.Add(tally.Done("receipts naming the verified commitment"));
  return Status::Ok();
}

// checkpoint.signature, log.consistency. Fills ledger.
Status CheckLog(const InferAuditInputs& in, InferAuditReport& r, Ledger& ledger) {
  const PublicKey known[] = {in.provider};
  CheckTally signatures("checkpoint.signature"), consistency("log.consistency");
  AFTUNE_ASSIGN_OR_RETURN(std::string latest_note, in.log->LatestCheckpoint());
  Result<Note> latest_opened = OpenNote(latest_note, known);
  Result<Checkpoint> latest =
      latest_opened.ok() ? ParseCheckpoint(latest_opened->text) : Result<Checkpoint>(latest_opened.status());
  signatures.Expect(latest.ok(), "the log's latest checkpoint: " + latest.status().ToString(), {{"line", nullptr}});
  if (latest.ok()) {
    ledger.latest = *latest;
    r.log = {{"origin", latest->origin}, {"latest_size", latest->size}, {"latest_root", HashToHex(latest->root)}};
  }
  std::map<std::string, std::optional<Checkpoint>> distinct;  // note -> verified checkpoint
  for (size_t i = 0; i < in.receipts.size(); ++i) {
    const std::string& note = in.receipts[i].checkpoint;
    Result<Checkpoint> received = UnverifiedCheckpoint(note);
    ledger.checkpoints.push_back(received.ok() ? std::optional(*received) : std::nullopt);
    if (distinct.count(note)) continue;
    Result<Note> opened = OpenNote(note, known);
    Result<Checkpoint> cp = opened.ok() ? ParseCheckpoint(opened->text) : Result<Checkpoint>(opened.status());
    signatures.Expect(cp.ok(), Line(i) + " checkpoint: " + cp.status().ToString(), {{"line", i + 1}});
    distinct[note] = cp.ok() ? std::optional(*cp) : std::nullopt;
  }
  for (const auto& [note, cp] : distinct) {
    if (!cp || !ledger.latest) continue;
    const Json evidence = {{"seen", CheckpointJson(*cp)}, {"latest", CheckpointJson(*ledger.latest)}};
    if (cp->size > ledger.latest->size) {
      consistency.Expect(false, "a checkpoint the client saw (size " + std::to_string(cp->size) +
                                    ") is larger than the log's latest (" + std::to_string(ledger.latest->size) + ")",
                         evidence);
      continue;
    }
    Result<ConsistencyProof> proof = in.log->ProveConsistency(cp->size, ledger.latest->size);
    if (!proof.ok() && Unreachable(proof.status())) return proof.status();
    const Status verified =
        proof.ok() ? VerifyConsistency(cp->size, ledger.latest->size, cp->root, ledger.latest->root, *proof)
                   : proof.status();
    consistency.Expect(verified.ok(),
                       "the checkpoint of size " + std::to_string(cp->size) + " (root " + HashToHex(cp->root) +
                           ") is not a prefix of the log's latest: " + verified.ToString(),
                       evidence);
  }
  r.Add(signatures.Done("checkpoints (the log's latest and each one the client saw)"));
  r.Add(consistency.Done("checkpoints the client saw against the log's latest"));
  return Status::Ok();
}

// receipt.inclusion, against the checkpoint received with each receipt.
Status CheckInclusion(const InferAuditInputs& in, const Ledger& ledger, InferAuditReport& r) {
  CheckTally tally("receipt.inclusion");
  for (size_t i = 0; i < in.receipts.size(); ++i) {
    const ReceiptBundle& b = in.receipts[i];
    const std::optional<Checkpoint>& cp = ledger.checkpoints[i];
    const Json evidence = {{"line", i + 1}, {"log_index", b.log_index},
                           {"checkpoint", cp ? CheckpointJson(*cp) : Json(nullptr)}};
    if (!cp || b.log_index >= cp->size) {
      tally.Expect(false, Line(i) + ": its checkpoint does not parse or does not cover its index", evidence);
      continue;
    }
    Result<InclusionProof> proof = in.log->ProveInclusion(b.log_index, cp->size);
    if (!proof.ok() && Unreachable(proof.status())) return proof.status();
    const Hash leaf = LeafHash(AsBytes(b.receipt));
    const Status verified =
        proof.ok() ? VerifyInclusion(b.log_index, cp->size, leaf, *proof, cp->root) : proof.status();
    tally.Expect(verified.ok(),
                 Line(i) + ": receipt " + std::to_string(b.log_index) + " is not a leaf of the checkpoint of size " +
                     std::to_string(cp->size) + ": " + verified.ToString(),
                 evidence);
  }
  r.Add(tally.Done("receipts proven in their checkpoints"));
  return Status::Ok();
}

// Whether generation stops exactly after `tokens` (Generator::Generate's rule).
std::string FinishProblem(const GenerationRequest& req, const std::vector<int32_t>& tokens, const Tokenizer& tok,
                          const std::vector<int32_t>& eos_ids) {
  const size_t n = tokens.size();
  if (n == 0) return "no generated token";
  if (static_cast<int64_t>(n) > req.max_tokens) return std::to_string(n) + " tokens, beyond max_tokens";
  for (size_t k = 0; k < n; ++k) {
    const bool eos = std::find(eos_ids.begin(), eos_ids.end(), tokens[k]) != eos_ids.end();
    const bool stop = !req.stop.empty() &&
                      FindStop(tok.Decode(std::span(tokens.data(), k + 1)), req.stop) != std::string::npos;
    if ((eos || stop) && k + 1 < n)
      return "generation should have stopped after token " + std::to_string(k) + (eos ? " (EOS)" : " (stop string)");
    if (k + 1 == n && !eos && !stop && static_cast<int64_t>(n) < req.max_tokens)
      return "the output ends after " + std::to_string(n) + " tokens without EOS, stop string or max_tokens";
  }
  return "";
}

// Compares receipt i's tokens with the sampler's `choices` and its end with
// the generator's rule.
void CompareReplay(const InferAuditInputs& in, size_t i, const std::vector<int32_t>& choices, CheckTally& tokens,
                   CheckTally& finish) {
  const ReceiptBundle& b = in.receipts[i];
  const Json at = {{"line", i + 1}, {"log_index", b.log_index}};
  for (size_t t = 0; t < choices.size(); ++t) {
    Json e = at;
    e["position"] = t;
    e["expected"] = choices[t];
    e["found"] = b.completion_tokens[t];
    tokens.Expect(choices[t] == b.completion_tokens[t],
                  Line(i) + ": generated token " + std::to_string(t) + " is " +
                      std::to_string(b.completion_tokens[t]) + ", the sampler picks " + std::to_string(choices[t]),
                  std::move(e));
  }
  const std::string problem = FinishProblem(b.request.generation, b.completion_tokens, *in.model->tokenizer, in.model->eos_ids);
  finish.Expect(problem.empty(), Line(i) + ": " + problem, at);
}

// Compares receipt i's logprobs, position by position, with `replayed`
// (infer/logprobs.h over the teacher-forced pass's logits).
void CompareLogprobs(const ReceiptBundle& b, size_t i, const std::vector<PositionLogprobs>& replayed,
                     CheckTally& logprobs) {
  for (size_t t = 0; t < replayed.size(); ++t) {
    const PositionLogprobs& got = b.completion_logprobs[t];
    Json e = {{"line", i + 1}, {"log_index", b.log_index}, {"position", t},
              {"expected", static_cast<double>(replayed[t].chosen)}, {"found", static_cast<double>(got.chosen)}};
    logprobs.Expect(got == replayed[t],
                    Line(i) + ": the logprobs of generated token " + std::to_string(t) +
                        " are not the replay's (chosen " + std::to_string(got.chosen) + ", the replay's " +
                        std::to_string(replayed[t].chosen) + ")",
                    std::move(e));
  }
}

// reexec.request, reexec.tokens, reexec.finish, reexec.logprobs over the
// sampled receipts.
void ReexecuteSample(const InferAuditInputs& in, const std::vector<int64_t>& sample, InferAuditReport& r) {
  const Tokenizer& tok = *in.model->tokenizer;
  const Generator generator(*in.model->decoder, in.model->eos_ids,
                            [&tok](const std::vector<int32_t>& ids) { return tok.Decode(ids); });
  const int64_t V = in.model->config.vocab_size;
  CheckTally request("reexec.request"), tokens("reexec.tokens"), finish("reexec.finish");
  std::vector<size_t> runnable;
  for (int64_t drawn : sample) {
    const size_t i = static_cast<size_t>(drawn);
    const ReceiptBundle& b = in.receipts[i];
    r.sampled.push_back({drawn + 1, b.log_index, static_cast<int64_t>(b.completion_tokens.size())});
    bool ok = generator.Validate(b.request.generation).ok();
    for (int32_t t : b.completion_tokens) ok = ok && t >= 0 && t < V;
    if (request.Expect(ok, Line(i) + ": the request or its tokens cannot run on the committed model",
                       {{"line", i + 1}, {"log_index", b.log_index}}))
      runnable.push_back(i);
  }
  CheckTally logprobs("reexec.logprobs");
  for (size_t i : runnable) {
    const ReceiptBundle& b = in.receipts[i];
    Tensor logits;
    CompareReplay(in, i, ReplayChoices(*in.model->decoder, b.request.generation, b.completion_tokens, &logits),
                  tokens, finish);
    if (b.request.logprobs >= 0)
      CompareLogprobs(b, i, AnswerLogprobs(logits.data(), V, b.request.generation.sampling, b.completion_tokens,
                                           b.request.logprobs),
                      logprobs);
  }
  r.Add(request.Done("sampled requests runnable on the committed model"));
  r.Add(tokens.Done("generated tokens against the sampler's choices"));
  r.Add(finish.Done("sampled generations ending where the generator stops"));
  r.Add(logprobs.Done("reported logprobs against the replay's, bit for bit"));
}

}  // namespace

Result<std::vector<ReceiptBundle>> ReadReceiptsFile(const std::string& path) {
  AFTUNE_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  std::vector<ReceiptBundle> out;
  std::istringstream lines(text);
  size_t number = 0;
  for (std::string line; std::getline(lines, line);) {
    ++number;
    if (line.empty()) continue;
    AFTUNE_ASSIGN_OR_RETURN(const Json j, ParseStrictJson(line, path + " line " + std::to_string(number)));
    Result<ReceiptBundle> b = ReceiptBundleFromJson(j, {"server"});
    if (!b.ok()) return b.status().WithContext(path + " line " + std::to_string(number));
    out.push_back(std::move(*b));
  }
  if (out.empty()) return Status::InvalidArgument(path + ": no receipts");
  return out;
}

Result<InferAuditReport> AuditInference(const InferAuditInputs& in, const InferChallenge& challenge) {
  AFTUNE_CHECK(in.model && in.log);
  if (in.receipts.empty()) return Status::InvalidArgument("no receipts to audit");
  if (challenge.nonce.empty()) return Status::InvalidArgument("the nonce is empty");
  InferAuditReport r;
  r.served = {{"model", HashToHex(in.model_digest)}, {"adapter", HexOrNull(in.adapter_digest)},
              {"commitment", nullptr}};
  r.receipts = static_cast<int64_t>(in.receipts.size());
  r.samples = challenge.samples;
  r.nonce_hex = HexEncode(challenge.nonce);
  CheckReceipts(in, r);
  AFTUNE_RETURN_IF_ERROR(CheckCommitment(in, r));
  Ledger ledger;
  AFTUNE_RETURN_IF_ERROR(CheckLog(in, r, ledger));
  AFTUNE_RETURN_IF_ERROR(CheckInclusion(in, ledger, r));

  // The draw, seeded by the largest checkpoint the client saw.
  Checkpoint seed_cp;
  for (const std::optional<Checkpoint>& cp : ledger.checkpoints)
    if (cp && (seed_cp.origin.empty() || cp->size > seed_cp.size)) seed_cp = *cp;
  r.seed_checkpoint = CheckpointJson(seed_cp);
  const Hash seed = ChallengeSeed(seed_cp.root, challenge.nonce);
  r.seed_hex = HashToHex(seed);
  const double cpu0 = ProcessCpuSeconds();
  const auto wall0 = std::chrono::steady_clock::now();
  ReexecuteSample(in, DrawIndices(seed, r.receipts, challenge.samples), r);
  r.reexec_cpu_s = ProcessCpuSeconds() - cpu0;
  r.reexec_wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  return r;
}

}  // namespace aftune
