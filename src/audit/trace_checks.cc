#include "audit/trace_checks.h"

#include <bit>
#include <vector>

#include "audit/block_base.h"
#include "audit/check_tally.h"
#include "commit/encoding.h"
#include "model/lora.h"
#include "model/safetensors.h"
#include "model/weight_files.h"
#include "protocol/input_digest.h"
#include "protocol/trace_record.h"
#include "train/adamw.h"
#include "train/batch_sampler.h"
#include "train/grad_clip.h"
#include "train/step_batch.h"

namespace aftune {

namespace {

using nlohmann::json;

std::string Step(int64_t s) { return "step " + std::to_string(s); }

// Zero AdamW moments beside each tensor, as a fresh optimizer holds them.
TensorMap WithZeroMoments(TensorMap tensors) {
  TensorMap out;
  for (auto& [name, t] : tensors) {
    out.emplace(ExpAvgName(name), Tensor(t.shape()));
    out.emplace(ExpAvgSqName(name), Tensor(t.shape()));
    out.emplace(name, std::move(t));
  }
  return out;
}

void CheckStepRecord(const AuditContext& ctx, const ParsedStepRecord& rec, int64_t s, CheckTally* batches,
                     CheckTally* lr, CheckTally* norm) {
  const int64_t n = ctx.data->size();
  const StepBatch b = MakeStepBatch(ctx.cfg, *ctx.data, s);
  batches->Expect(rec.epoch == b.epoch && rec.indices == b.indices && rec.tokens == b.tokens &&
                      rec.scored_tokens == b.scored_tokens,
                  Step(s) + ": the record's batch (epoch " + std::to_string(rec.epoch) + ", " +
                      std::to_string(rec.indices.size()) + " examples, " + std::to_string(rec.tokens) +
                      " tokens) is not the one the seed and the dataset give (epoch " + std::to_string(b.epoch) +
                      ", " + std::to_string(b.indices.size()) + " examples, " + std::to_string(b.tokens) + " tokens)",
                  {{"step", s}, {"examples", n}});
  const float want_lr = LearningRate(ctx.schedule, s);
  lr->Expect(rec.learning_rate.bits == std::bit_cast<uint32_t>(want_lr),
             Step(s) + ": learning rate " + std::to_string(rec.learning_rate.value()) + ", the schedule gives " +
                 std::to_string(want_lr),
             {{"step", s}, {"expected", F32Bits(want_lr)}, {"found", F32Bits(rec.learning_rate.value())}});
  // The sums name exactly each block's trainable tensors; the norm is theirs.
  bool shape_ok = rec.grad_sumsq.size() == ctx.blocks.size() && rec.boundaries.size() == b.micro.size();
  for (const auto& micro : rec.boundaries) shape_ok = shape_ok && micro.size() + 1 == ctx.blocks.size();
  std::map<std::string, double> all;
  for (size_t k = 0; shape_ok && k < rec.grad_sumsq.size(); ++k) {
    const auto names = ctx.TrainableShapes(static_cast<int64_t>(k));
    shape_ok = names.size() == rec.grad_sumsq[k].size();
    for (const auto& [name, bits] : rec.grad_sumsq[k]) {
      shape_ok = shape_ok && names.count(name);
      all[name] = std::bit_cast<double>(bits);
    }
  }
  if (!norm->Expect(shape_ok,
                    Step(s) + ": the record's gradient sums or boundaries do not list each block's tensors and each "
                              "micro-batch's boundaries",
                    {{"step", s}}))
    return;
  std::vector<double> sums;
  for (const auto& [name, v] : all) sums.push_back(v);
  const float want = NormFromSumsOfSquares(sums);
  norm->Expect(rec.grad_norm.bits == std::bit_cast<uint32_t>(want),
               Step(s) + ": gradient norm " + std::to_string(rec.grad_norm.value()) +
                   " is not the norm of the recorded sums of squares, " + std::to_string(want),
               {{"step", s}, {"expected", F32Bits(want)}, {"found", F32Bits(rec.grad_norm.value())}});
}

}  // namespace

bool CheckTraceRecords(AuditContext* ctx, AuditReport* report) {
  const TraceLayout& layout = ctx->layout;
  const std::string header =
      HeaderRecord(ctx->contract_digest, ctx->blocks, layout.total_steps, layout.steps_per_block);
  report->Add({"trace.header", ctx->lines[0] == header,
               ctx->lines[0] == header ? "the header names this contract, its layer-blocks, steps and B_S"
                                       : "line 0 is not the header of this contract's job",
               std::nullopt,
               {{"expected", header}, {"found", ctx->lines[0]}}});
  CheckTally records("trace.records");
  for (int64_t s = 0; s < layout.total_steps; ++s) {
    const uint64_t line = layout.StepLine(s);
    Result<ParsedStepRecord> rec = ParseStepRecord(ctx->lines[line], line);
    if (records.Expect(rec.ok() && rec->step == s,
                       rec.ok() ? "line " + std::to_string(line) + " is the record of step " + std::to_string(rec->step) +
                                      ", the layout puts step " + std::to_string(s) + " there"
                                : rec.status().message(),
                       {{"line", line}, {"step", s}})) {
      ctx->steps.push_back(std::move(*rec));
    } else {
      ctx->steps.emplace_back();
    }
    report->loss_curve.push_back(ctx->steps.back().loss.value());
  }
  for (int64_t s = 0; s <= layout.total_steps; ++s) {
    if (!layout.is_state_step(s)) continue;
    for (int64_t k = 0; k < layout.blocks; ++k) {
      const uint64_t line = layout.BlockStateLine(s, k);
      Result<ParsedBlockState> rec = ParseBlockStateRecord(ctx->lines[line], line);
      const LayerSpan span = ctx->blocks[static_cast<size_t>(k)];
      const bool ok = rec.ok() && rec->step == s && rec->block == k && rec->layers.begin == span.begin &&
                      rec->layers.end == span.end;
      records.Expect(ok,
                     rec.ok() ? "line " + std::to_string(line) + " is not the block-state record of block " +
                                    std::to_string(k) + " at step " + std::to_string(s)
                              : rec.status().message(),
                     {{"line", line}, {"step", s}, {"block", k}});
      ctx->states[{s, k}] = ok ? *rec : ParsedBlockState{};
    }
  }
  report->Add(records.Done("records in the order the layout gives"));
  if (!records.ok()) return false;
  CheckTally batches("trace.batches"), lr("trace.learning_rate"), norm("trace.grad_norm");
  for (int64_t s = 0; s < layout.total_steps; ++s)
    CheckStepRecord(*ctx, ctx->steps[static_cast<size_t>(s)], s, &batches, &lr, &norm);
  report->Add(batches.Done("batches of every step recomputed from the seed and the dataset"));
  report->Add(lr.Done("learning rates of every step"));
  report->Add(norm.Done("gradient norms of every step from their sums of squares"));
  return norm.ok();  // the cell checks index the sums and boundaries
}

void CheckInitialStates(const AuditContext& ctx, AuditReport* report) {
  CheckTally initial("state.initial");
  BlockBaseCache bases(ctx);
  for (int64_t k = 0; k < ctx.layout.blocks; ++k) {
    const LayerSpan span = ctx.blocks[static_cast<size_t>(k)];
    TensorMap start;
    if (ctx.cfg.full_finetune) {
      BlockBaseCache::Checked base = bases.Get(k, "state.initial", std::nullopt);
      if (!initial.Expect(base.tensors != nullptr, base.check.message, base.check.evidence)) continue;
      const auto names = ctx.TrainableShapes(k);
      for (const auto& [name, t] : *base.tensors)
        if (names.count(name)) start.emplace(name, Widened(t));
    } else {
      start = InitLora(ctx.model, ctx.cfg.lora, span, ctx.cfg.seed);
    }
    const TensorMap state = WithZeroMoments(std::move(start));
    const Hash found = TensorMapStateDigest(state);
    const ParsedBlockState& rec = ctx.states.at({0, k});
    initial.Expect(found == rec.state && rec.tensors == static_cast<int64_t>(state.size()),
                   "block " + std::to_string(k) + "'s state at step 0 is not the " +
                       (ctx.cfg.full_finetune ? "base model's" : "seed-determined LoRA initialisation") +
                       " with zero moments",
                   {{"block", k}, {"expected", HashToHex(found)}, {"found", HashToHex(rec.state)}});
  }
  report->Add(initial.Done(std::string("initial block states (") +
                           (ctx.cfg.full_finetune ? "base model" : "seed-determined LoRA initialisation") +
                           ", zero moments)"));
}

Status CheckFinalState(const AuditContext& ctx, const TrainingCommitment& commitment, OpeningSource& source,
                       const std::string& delivered_weights, AuditReport* report) {
  AFTUNE_ASSIGN_OR_RETURN(WeightFiles delivered, WeightFiles::OpenFileOrDir(delivered_weights));
  const Hash delivered_digest = WeightFilesStateDigest(delivered);
  const int64_t last = ctx.layout.total_steps;
  CheckTally final_state("final.state"), weights("final.weights");
  weights.Expect(delivered_digest == commitment.weights,
                 delivered_weights + " has state digest " + HashToHex(delivered_digest) +
                     ", the commitment names " + HashToHex(commitment.weights),
                 {{"file", delivered_weights},
                  {"expected", HashToHex(commitment.weights)},
                  {"found", HashToHex(delivered_digest)}});
  std::vector<NamedDigest> all;
  size_t trainable = 0;
  for (int64_t k = 0; k < ctx.layout.blocks; ++k) {
    const auto trainable_names = ctx.TrainableShapes(k);
    Result<TensorMap> state = source.BlockState(last, k);
    const ParsedBlockState& rec = ctx.states.at({last, k});
    if (!final_state.Expect(state.ok(), state.ok() ? "" : "the provider did not open block " + std::to_string(k) +
                                                              "'s final state: " + state.status().ToString(),
                            {{"block", k}}))
      continue;
    const Hash found = TensorMapStateDigest(*state);
    final_state.Expect(found == rec.state,
                       "block " + std::to_string(k) + "'s opened final state has digest " + HashToHex(found) +
                           ", its record " + HashToHex(rec.state),
                       {{"block", k}, {"expected", HashToHex(rec.state)}, {"found", HashToHex(found)}});
    for (const auto& [name, t] : *state) {
      const Hash d = F32TensorDigest(name, t);
      all.push_back({name, d});
      if (!trainable_names.count(name)) continue;  // a moment
      ++trainable;
      // The delivered tensor must be the final one, stored in the file's
      // dtype (a model saved as bfloat16 holds it rounded to nearest even).
      const SafetensorsEntry* e = delivered.Find(name).entry;
      const bool storable = e && IsFloatStorage(e->dtype) && e->shape == t.shape();
      const std::vector<uint64_t> dims(t.shape().begin(), t.shape().end());
      const Hash expected = storable ? TensorDigest(name, DTypeName(e->dtype), dims,
                                                    AsBytes(EncodeFloatTensor(t, e->dtype)))
                                     : d;
      const Hash stored = e ? TensorDigest(name, DTypeName(e->dtype), dims, e->bytes) : Hash{};
      weights.Expect(storable && stored == expected,
                     e ? "delivered tensor " + name + " (" + std::string(DTypeName(e->dtype)) +
                             ") differs from the final state's"
                       : "the delivered weights lack " + name,
                     {{"tensor", name}, {"expected", HashToHex(expected)}, {"found", e ? HashToHex(stored) : "(absent)"}});
    }
  }
  weights.Expect(delivered.tensors().size() == trainable,
                 "the delivered weights hold " + std::to_string(delivered.tensors().size()) +
                     " tensors, the final state " + std::to_string(trainable) + " trainable ones",
                 {{"expected", trainable}, {"found", delivered.tensors().size()}});
  Result<Hash> union_digest = StateDigest(all);
  const Hash found = union_digest.ok() ? *union_digest : Hash{};
  final_state.Expect(union_digest.ok() && found == commitment.final_state,
                     "the final block states together have digest " + HashToHex(found) +
                         ", the commitment's final-state is " + HashToHex(commitment.final_state),
                     {{"expected", HashToHex(commitment.final_state)}, {"found", HashToHex(found)}});
  report->Add(final_state.Done("final block states and the commitment's final-state"));
  report->Add(weights.Done("delivered weights against the final state"));
  return Status::Ok();
}

}  // namespace aftune
