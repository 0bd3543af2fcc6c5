#include "audit/cell_check.h"

#include <algorithm>
#include <bit>
#include <string>
#include <vector>

#include "audit/check_tally.h"
#include "commit/encoding.h"
#include "protocol/trace_record.h"
#include "train/block_replayer.h"
#include "train/step_batch.h"

namespace aftune {

namespace {

using nlohmann::json;

json DigestEvidence(int64_t step, int64_t micro, const std::string& tensor, const Hash& expected, const Hash& found) {
  return {{"step", step}, {"micro", micro}, {"tensor", tensor}, {"expected", HashToHex(expected)},
          {"found", HashToHex(found)}};
}

json BitsEvidence(int64_t step, const std::string& expected, const std::string& found) {
  return {{"step", step}, {"expected", expected}, {"found", found}};
}

// Checks an opened boundary tensor list of one step against its record.
void CheckOpenedBoundary(const AuditContext& ctx, const StepBatch& batch, const std::vector<Tensor>& opened,
                         int64_t boundary, BoundaryKind kind, CheckTally* tally) {
  const ParsedStepRecord& rec = ctx.steps[static_cast<size_t>(batch.step)];
  const std::string name = BoundaryTensorName(kind, boundary);
  if (!tally->Expect(opened.size() == batch.micro.size() && rec.boundaries.size() == batch.micro.size(),
                     "step " + std::to_string(batch.step) + ": " + std::to_string(opened.size()) + " " + name +
                         " tensors opened, " + std::to_string(rec.boundaries.size()) + " recorded, " +
                         std::to_string(batch.micro.size()) + " micro-batches",
                     {{"step", batch.step}, {"tensor", name}}))
    return;
  for (size_t m = 0; m < opened.size(); ++m) {
    const auto micro = static_cast<int64_t>(m);
    const std::vector<int64_t> shape = {batch.micro[m].num_tokens(), ctx.model.hidden_size};
    if (!tally->Expect(opened[m].shape() == shape && rec.boundaries[m].size() == ctx.blocks.size() - 1,
                       "step " + std::to_string(batch.step) + " micro " + std::to_string(m) + ": " + name +
                           " has shape " + opened[m].ShapeString() + ", the batch needs " + Tensor(shape).ShapeString(),
                       {{"step", batch.step}, {"micro", micro}, {"tensor", name}}))
      continue;
    const BoundaryDigests& d = rec.boundaries[m][static_cast<size_t>(boundary - 1)];
    const Hash& expected = kind == BoundaryKind::kActivation ? d.activation : d.gradient;
    const Hash found = F32TensorDigest(name, opened[m]);
    tally->Expect(found == expected,
                  "step " + std::to_string(batch.step) + " micro " + std::to_string(m) + ": opened " + name +
                      " differs from the trace's digest",
                  DigestEvidence(batch.step, micro, name, expected, found));
  }
}

// Compares the boundary tensors the replayed block produces with the trace.
class ProducedBoundaries : public StepObserver {
 public:
  ProducedBoundaries(const AuditContext& ctx, CheckTally* outputs, CheckTally* input_gradients)
      : ctx_(ctx), outputs_(outputs), input_gradients_(input_gradients) {}
  void OnActivation(int64_t step, int64_t micro, int64_t b, const Tensor& x) override {
    Compare(step, micro, b, BoundaryKind::kActivation, x, outputs_);
  }
  void OnGradient(int64_t step, int64_t micro, int64_t b, const Tensor& dx) override {
    Compare(step, micro, b, BoundaryKind::kGradient, dx, input_gradients_);
  }

 private:
  void Compare(int64_t step, int64_t micro, int64_t b, BoundaryKind kind, const Tensor& t, CheckTally* tally) {
    const BoundaryDigests& d = ctx_.steps[static_cast<size_t>(step)].boundaries[static_cast<size_t>(micro)]
                                                                                [static_cast<size_t>(b - 1)];
    const std::string name = BoundaryTensorName(kind, b);
    const Hash& expected = kind == BoundaryKind::kActivation ? d.activation : d.gradient;
    const Hash found = F32TensorDigest(name, t);
    tally->Expect(found == expected,
                  "step " + std::to_string(step) + " micro " + std::to_string(micro) + ": re-executed " + name +
                      " differs from the trace's digest",
                  DigestEvidence(step, micro, name, expected, found));
  }
  const AuditContext& ctx_;
  CheckTally* outputs_;
  CheckTally* input_gradients_;
};

void ExpectBits32(CheckTally* t, int64_t step, const std::string& what, uint32_t expected, float found) {
  const uint32_t bits = std::bit_cast<uint32_t>(found);
  t->Expect(bits == expected,
            "step " + std::to_string(step) + ": re-executed " + what + " " + std::to_string(found) + " (" +
                F32Bits(found) + "), the trace has " + std::to_string(std::bit_cast<float>(expected)) + " (" +
                F32Bits(std::bit_cast<float>(expected)) + ")",
            BitsEvidence(step, F32Bits(std::bit_cast<float>(expected)), F32Bits(found)));
}

// The state check of a block-state record against a digest computed here.
void ExpectState(CheckTally* t, const ParsedBlockState& rec, const TensorMap& state, const std::string& what) {
  const Hash found = TensorMapStateDigest(state);
  t->Expect(found == rec.state && static_cast<int64_t>(state.size()) == rec.tensors,
            what + " state at step " + std::to_string(rec.step) + " has digest " + HashToHex(found) + " over " +
                std::to_string(state.size()) + " tensors; the trace commits to " + HashToHex(rec.state) + " over " +
                std::to_string(rec.tensors),
            {{"step", rec.step}, {"expected", HashToHex(rec.state)}, {"found", HashToHex(found)}});
}

// The other blocks' committed sums of squares of step `rec`, by name.
std::map<std::string, double> OtherSums(const ParsedStepRecord& rec, int64_t block) {
  std::map<std::string, double> out;
  for (size_t k = 0; k < rec.grad_sumsq.size(); ++k)
    if (static_cast<int64_t>(k) != block)
      for (const auto& [name, bits] : rec.grad_sumsq[k]) out[name] = std::bit_cast<double>(bits);
  return out;
}

}  // namespace

void CheckCell(const AuditContext& ctx, OpeningSource& source, const Cell& cell, BlockBaseCache* bases,
               AuditReport* report) {
  const TraceLayout& layout = ctx.layout;
  const int64_t L = cell.block, B = layout.blocks;
  const int64_t first = layout.first_step(cell.step_block), end = layout.end_step(cell.step_block);
  // The blocks re-executed together (one, or a tied model's first and last).
  std::vector<int64_t> group;
  for (size_t g : ReplayGroup(ctx.cfg, ctx.model, static_cast<size_t>(B), static_cast<size_t>(L)))
    group.push_back(static_cast<int64_t>(g));
  auto held = [&](int64_t b) { return std::find(group.begin(), group.end(), b) != group.end(); };
  const bool holds_first = held(0), holds_last = held(B - 1);
  // Edges entering from outside the group: an activation into g, a gradient into g's output.
  auto input_edge = [&](int64_t g) { return g > 0 && !held(g - 1); };
  auto upstream_edge = [&](int64_t g) { return g + 1 < B && !held(g + 1); };
  bool any_input = false, any_upstream = false, any_output = false, any_input_gradient = false;
  for (int64_t g : group) {
    any_input |= input_edge(g);
    any_upstream |= upstream_edge(g);
    any_output |= g + 1 < B;
    any_input_gradient |= g > 0;
  }

  std::vector<CellOpening> opens;
  std::string opened_text;
  for (int64_t g : group) {
    Result<CellOpening> opened = OpenCell(source, layout, g, cell.step_block);
    if (!opened.ok()) {
      report->Add({"cell.opening", false,
                   "the provider did not open the cell of block " + std::to_string(g) + ": " +
                       opened.status().ToString(),
                   cell, json::object()});
      return;
    }
    opens.push_back(std::move(*opened));
  }
  report->Add({"cell.opening", true,
               "opened steps " + std::to_string(first) + ".." + std::to_string(end - 1) +
                   (group.size() > 1 ? " of blocks " + std::to_string(group.front()) + " and " +
                                           std::to_string(group.back()) + " (replayed together: tied embedding)"
                                     : ""),
               cell, json::object()});

  // The opened lines: where the layout says, proven, the same text as the trace's.
  CheckTally inclusion("cell.inclusion", cell);
  for (size_t k = 0; k < group.size(); ++k) {
    const CellOpening& open = opens[k];
    std::vector<uint64_t> want = {0, layout.BlockStateLine(first, group[k])};
    for (int64_t s = first; s < end; ++s) want.push_back(layout.StepLine(s));
    want.push_back(layout.BlockStateLine(end, group[k]));
    inclusion.Expect(open.lines.size() == want.size(),
                     std::to_string(open.lines.size()) + " lines opened, the cell has " + std::to_string(want.size()),
                     json::object());
    for (size_t i = 0; i < open.lines.size() && i < want.size(); ++i) {
      const OpenedLine& l = open.lines[i];
      const Status proof =
          VerifyInclusion(l.index, layout.records(), LeafHash(AsBytes(l.text)), l.proof, ctx.trace_root);
      inclusion.Expect(l.index == want[i] && proof.ok() && l.text == ctx.lines[want[i]],
                       "line " + std::to_string(l.index) + " (expected line " + std::to_string(want[i]) +
                           "): " + (proof.ok() ? "text differs from the proven trace line" : proof.ToString()),
                       {{"line", l.index}, {"expected_line", want[i]}});
    }
  }
  report->Add(inclusion.Done("inclusion proofs"));

  CheckTally start("cell.start_state", cell);
  for (size_t k = 0; k < group.size(); ++k)
    ExpectState(&start, ctx.states.at({first, group[k]}), opens[k].start_state,
                "opened start" + (group.size() > 1 ? " (block " + std::to_string(group[k]) + ")" : std::string()));
  report->Add(start.Done("start state digest"));

  std::vector<StepBatch> batches;
  CheckTally inputs("cell.inputs", cell), upstream("cell.upstream_gradients", cell);
  for (int64_t s = first; s < end; ++s) {
    batches.push_back(MakeStepBatch(ctx.cfg, *ctx.data, s));
    const size_t i = static_cast<size_t>(s - first);
    for (size_t k = 0; k < group.size(); ++k) {
      const int64_t g = group[k];
      if (input_edge(g))
        CheckOpenedBoundary(ctx, batches.back(), opens[k].inputs[i], g, BoundaryKind::kActivation, &inputs);
      if (upstream_edge(g))
        CheckOpenedBoundary(ctx, batches.back(), opens[k].upstream_gradients[i], g + 1, BoundaryKind::kGradient,
                            &upstream);
    }
  }
  if (any_input) report->Add(inputs.Done("opened input activations"));
  if (any_upstream) report->Add(upstream.Done("opened upstream gradients"));
  if (!start.ok() || !inputs.ok() || !upstream.ok()) return;  // nothing trustworthy to run
  static const WeightMap kNoBase;  // full fine-tuning: the states hold the base tensors
  const WeightMap* base = &kNoBase;
  if (!ctx.cfg.full_finetune) {
    BlockBaseCache::Checked checked = bases->Get(L, "cell.base", cell);
    if (!report->Add(std::move(checked.check))) return;
    base = checked.tensors;
  }

  CheckTally batch_check("cell.batches", cell), outputs("cell.outputs", cell), in_grads("cell.input_gradients", cell),
      sumsq("cell.grad_sumsq", cell), norm("cell.grad_norm", cell), lr("cell.learning_rate", cell),
      loss("cell.loss", cell), end_state("cell.end_state", cell);
  std::vector<TensorMap> states;
  std::vector<size_t> group_blocks;
  for (size_t k = 0; k < group.size(); ++k) {
    states.push_back(std::move(opens[k].start_state));
    group_blocks.push_back(static_cast<size_t>(group[k]));
  }
  Result<std::unique_ptr<BlockReplayer>> replayer =
      BlockReplayer::CreateGroup(ctx.cfg, ctx.model, ctx.blocks, group_blocks, base, std::move(states), first,
                                 layout.total_steps, ctx.data.get());
  if (!report->Add({"cell.replay", replayer.ok(),
                    replayer.ok() ? "block " + std::to_string(L) + " set up from the opened state"
                                  : replayer.status().ToString(),
                    cell, json::object()}))
    return;
  ProducedBoundaries produced(ctx, &outputs, &in_grads);
  for (int64_t s = first; s < end; ++s) {
    const size_t i = static_cast<size_t>(s - first);
    const ParsedStepRecord& rec = ctx.steps[static_cast<size_t>(s)];
    const StepBatch& b = batches[i];
    if (holds_first)
      batch_check.Expect(b.indices == rec.indices && b.tokens == rec.tokens && b.scored_tokens == rec.scored_tokens &&
                             b.epoch == rec.epoch,
                         "step " + std::to_string(s) + ": the batch recomputed from the seed and the dataset (" +
                             std::to_string(b.tokens) + " tokens, " + std::to_string(b.scored_tokens) +
                             " scored) differs from the record (" + std::to_string(rec.tokens) + ", " +
                             std::to_string(rec.scored_tokens) + ")",
                         {{"step", s}});
    BlockEdges edges;
    for (size_t k = 0; k < group.size(); ++k) {
      const auto g = static_cast<size_t>(group[k]);
      if (input_edge(group[k])) edges.activations[g] = &opens[k].inputs[i];
      if (upstream_edge(group[k])) edges.gradients[g] = &opens[k].upstream_gradients[i];
    }
    Result<BlockStepReport> r = (*replayer)->RunStep(edges, OtherSums(rec, L), &produced);
    if (!r.ok()) {
      norm.Expect(false, "step " + std::to_string(s) + ": " + r.status().message(), {{"step", s}});
      break;
    }
    std::map<std::string, uint64_t> recorded;
    for (int64_t g : group)
      if (rec.grad_sumsq.size() > static_cast<size_t>(g))
        recorded.insert(rec.grad_sumsq[static_cast<size_t>(g)].begin(), rec.grad_sumsq[static_cast<size_t>(g)].end());
    sumsq.Expect(recorded.size() == r->grad_sumsq.size(),
                 "step " + std::to_string(s) + ": the record lists " + std::to_string(recorded.size()) +
                     " tensors of the block, it trains " + std::to_string(r->grad_sumsq.size()),
                 {{"step", s}});
    for (const auto& [name, v] : r->grad_sumsq) {
      auto it = recorded.find(name);
      const std::string expected = it == recorded.end() ? "(absent)" : F64Bits(std::bit_cast<double>(it->second));
      sumsq.Expect(it != recorded.end() && it->second == std::bit_cast<uint64_t>(v),
                   "step " + std::to_string(s) + ": sum of squares of " + name + "'s gradient is " + F64Bits(v) +
                       ", the trace has " + expected,
                   {{"step", s}, {"tensor", name}, {"expected", expected}, {"found", F64Bits(v)}});
    }
    ExpectBits32(&norm, s, "gradient norm", rec.grad_norm.bits, r->step.grad_norm);
    ExpectBits32(&lr, s, "learning rate", rec.learning_rate.bits, r->step.learning_rate);
    if (holds_last) ExpectBits32(&loss, s, "loss", rec.loss.bits, r->step.loss);
  }
  if (norm.ok()) {
    for (int64_t g : group)
      ExpectState(&end_state, ctx.states.at({end, g}), (*replayer)->State(static_cast<size_t>(g)),
                  "re-executed end" + (group.size() > 1 ? " (block " + std::to_string(g) + ")" : std::string()));
  } else {
    end_state.Expect(false, "the re-execution stopped before the cell's end", {{"step", end}});
  }
  if (holds_first) report->Add(batch_check.Done("batches recomputed from the seed and the dataset"));
  if (any_output) report->Add(outputs.Done("output activations"));
  if (any_input_gradient) report->Add(in_grads.Done("input gradients"));
  report->Add(sumsq.Done("gradient sums of squares"));
  report->Add(norm.Done("gradient norms"));
  report->Add(lr.Done("learning rates"));
  if (holds_last) report->Add(loss.Done("losses"));
  report->Add(end_state.Done("end state digest"));
}

}  // namespace aftune
