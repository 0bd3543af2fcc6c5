// The training audit (DESIGN.md, "Protocols / Training audit"; issue 5):
// verify the signed commitment, the contract and the inputs, check the
// trace's records and the first and last states, draw cells of the audit
// grid from SHA-256(trace root ‖ nonce) and re-execute each (audit/
// cell_check.h). The run is seen only through an OpeningSource; besides it
// the auditor reads the contract, the commitment, the provider's public key,
// the dataset, the base model through a BaseSource (its small files, and one
// layer-block at a time to re-execute) and the delivered weights file.
// docs/audit.md lists every check.
//
// The order, and where the audit stops early (the verdict is then "fail"
// with the checks made so far): commitment.signature (stop), contract.digest
// (stop), inputs.* (stop), trace.lines (every line opened and proven; stop),
// trace.header, trace.records (stop), trace.batches, trace.learning_rate,
// trace.grad_norm (stop), state.initial, the cells, final.state,
// final.weights.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "audit/audit_context.h"
#include "audit/audit_report.h"
#include "audit/challenge.h"
#include "commit/key.h"
#include "protocol/base_source.h"
#include "protocol/opening.h"

namespace aftune {

struct TrainAuditInputs {
  std::string contract_path;
  std::string commitment_note;  // the note's bytes as received
  PublicKey provider;
  std::string data_path;
  std::string delivered_weights;  // adapter_model.safetensors, or the model's directory (any layout) or file
  OpeningSource* source = nullptr;
  BaseSource* base = nullptr;  // the client's base model directory, or the provider's slices
};

struct ChallengeRequest {
  int64_t samples = 0;
  std::vector<uint8_t> nonce;  // at least 1 byte
  ChallengeStrategy strategy = ChallengeStrategy::kUniform;
  std::optional<std::string> cells;  // "L,S;…": exactly these cells
};

// How the drawn cells (report->cells) are checked: each cell's checks
// appended to the report in the cells' order. kVerdictElsewhere when this
// process only checked some cells for another that makes the verdict (a
// worker rank of the audit farm, audit/audit_farm.h): the audit then stops
// after the cells, its report not a verdict.
enum class CellsOutcome { kChecked, kVerdictElsewhere };
using CellsChecker =
    std::function<Result<CellsOutcome>(const AuditContext& ctx, OpeningSource& source, AuditReport* report)>;

// Every cell here, one after another (audit/cell_check.h CheckCell).
Result<CellsOutcome> CheckCellsHere(const AuditContext& ctx, OpeningSource& source, AuditReport* report);

// The report, whatever the verdict. A non-ok status means the audit could
// not be carried out, naming the input: a file that cannot be read or
// parsed (contract, dataset, the base's config or tokenizer, delivered
// weights), --cells that do not name cells of the grid (kInvalidArgument).
// REQUIRES: in.source and in.base set.
Result<AuditReport> AuditTraining(const TrainAuditInputs& in, const ChallengeRequest& challenge,
                                  const CellsChecker& check_cells = CheckCellsHere);

}  // namespace aftune
