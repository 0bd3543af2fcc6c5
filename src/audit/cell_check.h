// Re-execution of one cell of the audit grid (DESIGN.md, "Training audit"):
// layer-block L over step-block S, from what the provider opens through
// OpeningSource, every opened tensor checked against the digest a proven
// trace line commits to before it is used, and every value the cell
// computes compared bit for bit with the trace. Only the block's base
// tensors, its state and the cell's boundary tensors are held in memory.
//
// Checks added to the report (each for the cell, over all its steps; the
// evidence of a failure names the first wrong step, micro-batch and tensor
// with the expected and found digest or bits):
//   cell.opening            the source answered
//   cell.base               the block's base tensors are the contract's (LoRA;
//                           audit/block_base.h)
//   cell.inclusion          the opened lines are the trace's, proven under its root
//   cell.start_state        the start state's digest is the block-state record's
//   cell.inputs             activations entering the block (L > 0) match the record
//   cell.upstream_gradients gradients arriving from block L+1 (L < B-1) match
//   cell.batches            indices, tokens and scored tokens recomputed from
//                           the seed and the dataset (L = 0: the input cell)
//   cell.outputs            re-executed output activations (L < B-1)
//   cell.input_gradients    re-executed gradients leaving the block (L > 0)
//   cell.grad_sumsq         the block's per-tensor gradient sums of squares
//   cell.grad_norm          the global norm rebuilt from them and the others'
//   cell.learning_rate      the schedule's rate
//   cell.loss               the loss (L = B-1)
//   cell.end_state          the end state's digest is the next block-state record's
// When an opened tensor or the base fails its check the cell is not
// re-executed.
// Full fine-tuning of a tied model cut into several blocks: a cell of the
// first or the last block opens and re-executes both blocks' cells of its
// step-block together (train/block_replayer.h ReplayGroup), every check above
// covering both.
#pragma once

#include <cstdint>
#include <optional>

#include "audit/audit_context.h"
#include "audit/audit_report.h"
#include "audit/block_base.h"
#include "protocol/opening.h"

namespace aftune {

// Adds the checks above for `cell` to `report`, the block's base tensors
// from `bases`.
void CheckCell(const AuditContext& ctx, OpeningSource& source, const Cell& cell, BlockBaseCache* bases,
               AuditReport* report);

}  // namespace aftune
