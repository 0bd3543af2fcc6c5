// The checks of a training audit that span the whole trace rather than one
// cell (docs/audit.md, "Checks"). They cost no re-execution: each compares
// a proven trace line with what the contract, the seed and the dataset
// determine, or a committed state with the base model, the seed-determined
// initialisation or the delivered weights.
#pragma once

#include <string>

#include "audit/audit_context.h"
#include "audit/audit_report.h"
#include "protocol/commitment.h"
#include "protocol/opening.h"

namespace aftune {

// trace.header       line 0 is exactly the header of this contract's job
// trace.records      every line parses as the record the layout puts there,
//                    with the step, block and layers it must carry
// trace.batches      each step's epoch and example indices are StepIndices'
// trace.learning_rate  each step's rate is the schedule's, bit for bit
// trace.grad_norm    each step's norm is NormFromSumsOfSquares of its sums
//                    (the trainable tensors of each block, in name order) and
//                    its boundaries list one entry per micro-batch and boundary
// Fills ctx->steps, ctx->states and report->loss_curve from the lines.
// Returns false when the records cannot be used for the cell checks.
bool CheckTraceRecords(AuditContext* ctx, AuditReport* report);

// state.initial      every block's state at step 0 is the base model (full:
//                    each block's base slice, checked as audit/block_base.h
//                    says, one block held at a time) or the seed-determined
//                    LoRA initialisation, with zero moments
void CheckInitialStates(const AuditContext& ctx, AuditReport* report);

// final.state        the blocks' states after the last step, opened one at a
//                    time, match their records, and all their tensors
//                    together have the commitment's final-state digest
// final.weights      the delivered weights file has the commitment's weights
//                    digest and every tensor of it equals the final state's
//                    as stored in the file's dtype (EncodeFloatTensor)
// Errors: the delivered weights file cannot be read.
Status CheckFinalState(const AuditContext& ctx, const TrainingCommitment& commitment, OpeningSource& source,
                       const std::string& delivered_weights, AuditReport* report);

}  // namespace aftune
