// The audit farm (docs/audit.md, "Audit farm"): one training audit whose
// drawn cells are re-executed by the ranks of an MPI job,
//   mpirun -n R aftune audit train …
// Every rank makes the checks before the cells itself, from the same
// inputs (or the same --provider), and draws the same cells from rank 0's
// nonce. Rank r then checks FarmShare(cells, r, R), a contiguous run of the
// cells' order, and sends those cells' checks to rank 0 with a digest of its
// report so far. Rank 0 appends them in rank order, which is the cells'
// order, makes the final checks and alone writes the verdict: the report a
// single process makes, byte for byte, for every R.
//
// Each worker sends rank 0 exactly one message, whatever happened to it:
// its checks, or that it stopped before the cells, or why it could not
// audit. Rank 0 takes a worker that could not audit, or whose checks before
// the cells differ from its own, as the audit's failure to be carried out
// (naming the rank), never as a verdict. A rank that dies stops the job
// before rank 0 has every cell's checks, so no report is written.
// With one rank (no mpirun) the audit is AuditTraining's, unchanged.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "audit/train_audit.h"
#include "client/provider_client.h"
#include "dist/communicator.h"

namespace aftune {

// Cells [begin, end) of the drawn order: n cells over `ranks`, the first
// n % ranks ranks one more than the others (none when n < rank + 1).
struct CellShare {
  size_t begin = 0, end = 0;
};
CellShare FarmShare(size_t n, int rank, int ranks);

// A verdict and, for an audit against a provider, what the job fetched
// (all ranks together).
struct AuditOutcome {
  AuditReport report;
  std::optional<FetchTally> fetched;
};

class AuditFarm {
 public:
  explicit AuditFarm(Communicator* comm) : comm_(comm) {}

  // Rank 0 makes the verdict; the others only check cells for it.
  bool verdict_here() const { return comm_->rank() == 0; }

  // Rank 0's nonce on every rank (each draws one when none is given).
  Result<std::vector<uint8_t>> Nonce(Result<std::vector<uint8_t>> mine);

  // This rank's part of the audit. Rank 0: the verdict, or why the audit
  // could not be carried out here or on a worker (named). A worker: ok, an
  // empty outcome, once rank 0 has its message.
  Result<AuditOutcome> Audit(const TrainAuditInputs& in, const ChallengeRequest& challenge,
                             const ProviderClient* remote);

  // The audit could not start on this rank: a worker tells rank 0, rank 0
  // takes every worker's message. Returns `why`.
  Status Failed(Status why);

  // Rank 0's exit code, on every rank (so mpirun exits with it).
  int JobExitCode(int mine);

 private:
  Result<CellsOutcome> CheckShare(const AuditContext& ctx, OpeningSource& source, AuditReport* report);
  Result<CellsOutcome> GatherCells(const AuditContext& ctx, OpeningSource& source, AuditReport* report);
  void ReceiveWorkers();
  void SendToRankZero(const nlohmann::json& message);

  Communicator* comm_;
  std::string prefix_;                     // digest of this rank's report before the cells
  std::vector<nlohmann::json> messages_;  // rank 0: from ranks 1…R-1
};

}  // namespace aftune
