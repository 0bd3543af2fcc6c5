#include "audit/train_audit.h"

#include <memory>

#include "audit/audit_context.h"
#include "audit/cell_check.h"
#include "audit/check_tally.h"
#include "audit/trace_checks.h"
#include "base/file.h"
#include "commit/encoding.h"
#include "model/tokenizer.h"
#include "protocol/commitment.h"
#include "protocol/contract.h"
#include "protocol/input_digest.h"
#include "train/trainer.h"

namespace aftune {

namespace {

using nlohmann::json;

json CommitmentJson(const TrainingCommitment& c) {
  return {{"contract", HashToHex(c.contract)}, {"trace", HashToHex(c.trace)}, {"records", c.records},
          {"steps", c.steps}, {"final_state", HashToHex(c.final_state)}, {"weights", HashToHex(c.weights)}};
}

// The input checks; false when any failed. A base read in proven slices has
// no state digest here: its check says where each slice is proven instead.
bool CheckInputs(const Contract& contract, const TrainAuditInputs& in, const ModelDirDigests& model,
                 const DatasetDigests& data, AuditReport* report) {
  const BaseSource& base = *in.base;
  std::vector<ContractMismatch> bad = CompareContractInputs(contract, base.name(), model, in.data_path, data);
  if (base.proves_slices()) std::erase_if(bad, [](const ContractMismatch& m) { return m.input == "base model"; });
  bool ok = true;
  for (const char* input : {"base model", "base model config", "tokenizer", "chat template", "dataset"}) {
    std::string id = std::string("inputs.") + input;
    for (char& ch : id)
      if (ch == ' ') ch = '_';
    AuditCheck c{id, true, std::string(input) + " matches the contract's digest", std::nullopt, json::object()};
    if (base.proves_slices() && id == "inputs.base_model")
      c.message = "base model not held here: " + base.name() +
                  " serves it by layer-block, each tensor proven under the contract's state digest before use "
                  "(cell.base)";
    for (const ContractMismatch& m : bad)
      if (m.input == input) c = {id, false, m.ToString(), std::nullopt, {{"expected", m.expected}, {"found", m.found}}};
    ok = report->Add(std::move(c)) && ok;
  }
  return ok;
}

// Opens every trace line and checks its inclusion proof; fills ctx->lines.
bool OpenAndProveLines(OpeningSource& source, AuditContext* ctx, AuditReport* report) {
  const uint64_t n = ctx->layout.records();
  std::vector<uint64_t> all(n);
  for (uint64_t i = 0; i < n; ++i) all[i] = i;
  Result<std::vector<OpenedLine>> lines = source.Lines(all);
  if (!lines.ok() || lines->size() != n)
    return report->Add({"trace.lines", false,
                        "the provider did not open the trace: " +
                            (lines.ok() ? std::to_string(lines->size()) + " of " + std::to_string(n) + " lines"
                                        : lines.status().ToString()),
                        std::nullopt, json::object()});
  CheckTally proven("trace.lines");
  for (uint64_t i = 0; i < n; ++i) {
    const OpenedLine& l = (*lines)[i];
    const Status st =
        VerifyInclusion(i, n, LeafHash(AsBytes(l.text)), l.proof, ctx->trace_root);
    proven.Expect(l.index == i && st.ok(),
                  "line " + std::to_string(i) + " is not proven under the trace root: " +
                      (l.index == i ? st.ToString() : "the source answered line " + std::to_string(l.index)),
                  {{"line", i}, {"trace", HashToHex(ctx->trace_root)}});
    ctx->lines.push_back(l.text);
  }
  return report->Add(proven.Done("trace lines proven under the commitment's trace root"));
}

double ComputeFraction(const AuditContext& ctx, const std::vector<Cell>& cells) {
  double done = 0;
  for (const Cell& c : cells) {
    const LayerSpan span = ctx.blocks[static_cast<size_t>(c.block)];
    done += static_cast<double>(span.end - span.begin) *
            static_cast<double>(ctx.layout.end_step(c.step_block) - ctx.layout.first_step(c.step_block));
  }
  return done / (static_cast<double>(ctx.model.num_hidden_layers) * static_cast<double>(ctx.layout.total_steps));
}

}  // namespace

Result<CellsOutcome> CheckCellsHere(const AuditContext& ctx, OpeningSource& source, AuditReport* report) {
  BlockBaseCache bases(ctx);
  for (const Cell& cell : report->cells) CheckCell(ctx, source, cell, &bases, report);
  return CellsOutcome::kChecked;
}

Result<AuditReport> AuditTraining(const TrainAuditInputs& in, const ChallengeRequest& challenge,
                                  const CellsChecker& check_cells) {
  AFTUNE_CHECK(in.source != nullptr && in.base != nullptr && !challenge.nonce.empty() && challenge.samples >= 0);
  AuditReport report;
  report.nonce_hex = HexEncode(challenge.nonce);
  report.samples = challenge.samples;
  report.strategy = challenge.cells ? "explicit" : std::string(ChallengeStrategyName(challenge.strategy));
  AuditContext ctx;
  AFTUNE_ASSIGN_OR_RETURN(ctx.contract, ReadContract(in.contract_path));
  ctx.contract_digest = ContractDigest(ctx.contract);

  Result<TrainingCommitment> commitment = VerifyCommitment(in.commitment_note, in.provider);
  if (!report.Add({"commitment.signature", commitment.ok(),
                   commitment.ok() ? "signed by " + in.provider.name + " (key id verified)"
                                   : commitment.status().ToString(),
                   std::nullopt,
                   {{"key", in.provider.name}}}))
    return report;
  report.commitment = CommitmentJson(*commitment);
  ctx.trace_root = commitment->trace;
  if (!report.Add({"contract.digest", commitment->contract == ctx.contract_digest,
                   commitment->contract == ctx.contract_digest
                       ? "the commitment names this contract"
                       : "the commitment names contract " + HashToHex(commitment->contract) + ", " +
                             in.contract_path + " has digest " + HashToHex(ctx.contract_digest),
                   std::nullopt,
                   {{"expected", HashToHex(ctx.contract_digest)}, {"found", HashToHex(commitment->contract)}}}))
    return report;

  const std::string& base_files = in.base->files_dir();
  Result<ModelDirDigests> model = in.base->proves_slices() ? DigestModelFiles(base_files) : DigestModelDir(base_files);
  if (!model.ok() && in.base->proves_slices())
    return model.status().WithContext("the base's files from " + in.base->name() + " (kept in " + base_files + ")");
  if (!model.ok()) return model.status();
  AFTUNE_ASSIGN_OR_RETURN(std::string data_bytes, ReadFile(in.data_path));
  if (!CheckInputs(ctx.contract, in, *model, DigestDatasetBytes(data_bytes), &report)) return report;

  ctx.base = in.base;
  ctx.cfg = ContractTrainConfig(ctx.contract, base_files);
  ctx.model = model->model_config;
  AFTUNE_ASSIGN_OR_RETURN(std::shared_ptr<const ChatRenderer> chat, LoadChatRenderer(base_files));
  AFTUNE_ASSIGN_OR_RETURN(Dataset data, ParseJsonlDataset(data_bytes, in.data_path, *model->loaded_tokenizer,
                                                          {ctx.cfg.max_seq_length, ctx.cfg.overflow, chat}));
  ctx.data = std::make_unique<Dataset>(std::move(data));
  ctx.blocks = LayerBlocks(ctx.model, ctx.cfg.layers_per_block);
  ctx.layout = {static_cast<int64_t>(ctx.blocks.size()), ctx.contract.grid.steps_per_block,
                TotalSteps(ctx.cfg, ctx.data->size())};
  ctx.schedule = {ctx.cfg.lr_scheduler_type, ctx.cfg.learning_rate, ctx.cfg.warmup_steps, ctx.layout.total_steps};
  report.layout = ctx.layout;
  report.layers = ctx.model.num_hidden_layers;
  const bool counts = commitment->records == ctx.layout.records() &&
                      commitment->steps == static_cast<uint64_t>(ctx.layout.total_steps);
  if (!report.Add({"trace.length", counts,
                   "the commitment counts " + std::to_string(commitment->steps) + " steps and " +
                       std::to_string(commitment->records) + " records; the contract's job has " +
                       std::to_string(ctx.layout.total_steps) + " steps and " +
                       std::to_string(ctx.layout.records()) + " records",
                   std::nullopt,
                   {{"expected", {{"steps", ctx.layout.total_steps}, {"records", ctx.layout.records()}}},
                    {"found", {{"steps", commitment->steps}, {"records", commitment->records}}}}}))
    return report;
  if (!OpenAndProveLines(*in.source, &ctx, &report)) return report;
  if (!CheckTraceRecords(&ctx, &report)) return report;
  CheckInitialStates(ctx, &report);

  const Hash seed = ChallengeSeed(ctx.trace_root, challenge.nonce);
  report.seed_hex = HashToHex(seed);
  if (challenge.cells) {
    AFTUNE_ASSIGN_OR_RETURN(report.cells, ParseCells(*challenge.cells, ctx.layout));
  } else {
    report.cells = DrawCells(seed, ctx.layout, challenge.strategy, challenge.samples);
    report.population = ChallengePopulation(ctx.layout, challenge.strategy);
  }
  report.compute_fraction = ComputeFraction(ctx, report.cells);
  AFTUNE_ASSIGN_OR_RETURN(CellsOutcome cells, check_cells(ctx, *in.source, &report));
  if (cells == CellsOutcome::kVerdictElsewhere) return report;
  AFTUNE_RETURN_IF_ERROR(CheckFinalState(ctx, *commitment, *in.source, in.delivered_weights, &report));
  return report;
}

}  // namespace aftune
