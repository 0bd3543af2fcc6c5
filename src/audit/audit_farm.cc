#include "audit/audit_farm.h"

#include <algorithm>
#include <iterator>
#include <string>
#include <utility>

#include "audit/cell_check.h"
#include "commit/sha256.h"

namespace aftune {

namespace {

using nlohmann::json;

// A FetchTally travels as these counts, in this order.
constexpr uint64_t FetchTally::*kTallyCounts[] = {
    &FetchTally::requests,   &FetchTally::line_bytes,      &FetchTally::state_bytes, &FetchTally::boundary_bytes,
    &FetchTally::base_file_bytes, &FetchTally::slice_bytes, &FetchTally::lines,      &FetchTally::states,
    &FetchTally::boundaries, &FetchTally::base_files,      &FetchTally::slices};

json TallyJson(const FetchTally& t) {
  json out = json::array();
  for (auto count : kTallyCounts) out.push_back(t.*count);
  return out;
}

void AddTally(const json& counts, FetchTally* sum) {
  size_t i = 0;
  for (auto count : kTallyCounts) sum->*count += counts.at(i++).get<uint64_t>();
}

// The inverse of ChecksJson for one check (the message comes from a rank of
// this job, not from outside).
AuditCheck CheckFromJson(const json& j) {
  AuditCheck c{j.at("check").get<std::string>(), j.at("result") == "pass", j.at("message").get<std::string>(),
               std::nullopt, j.at("evidence")};
  if (j.contains("cell")) c.cell = Cell{j["cell"].at(0).get<int64_t>(), j["cell"].at(1).get<int64_t>()};
  return c;
}

}  // namespace

CellShare FarmShare(size_t n, int rank, int ranks) {
  const size_t r = static_cast<size_t>(rank), q = n / static_cast<size_t>(ranks), extra = n % static_cast<size_t>(ranks);
  const size_t begin = r * q + std::min(r, extra);
  return {begin, begin + q + (r < extra ? 1 : 0)};
}

Result<std::vector<uint8_t>> AuditFarm::Nonce(Result<std::vector<uint8_t>> mine) {
  if (comm_->size() == 1) return mine;
  uint64_t n = verdict_here() && mine.ok() ? mine->size() : 0;  // a nonce has at least one byte
  comm_->Broadcast(0, &n, sizeof n);
  if (n == 0) return verdict_here() ? mine : Status::InvalidArgument("rank 0 has no nonce");
  std::vector<uint8_t> nonce = verdict_here() ? *mine : std::vector<uint8_t>(n);
  comm_->Broadcast(0, nonce.data(), n);
  return nonce;
}

Result<AuditOutcome> AuditFarm::Audit(const TrainAuditInputs& in, const ChallengeRequest& challenge,
                                      const ProviderClient* remote) {
  if (comm_->size() == 1) {
    AFTUNE_ASSIGN_OR_RETURN(AuditReport report, AuditTraining(in, challenge));
    AuditOutcome out{std::move(report), std::nullopt};
    if (remote) out.fetched = remote->fetched();
    return out;
  }
  if (!verdict_here()) {
    std::optional<size_t> first;  // the first of this rank's cells' checks
    Result<AuditReport> r = AuditTraining(in, challenge, [&](const AuditContext& ctx, OpeningSource& source,
                                                             AuditReport* report) {
      first = report->checks.size();
      return CheckShare(ctx, source, report);
    });
    json message;
    if (!r.ok()) {
      message = {{"state", "error"}, {"error", r.status().ToString()}};
    } else if (!first) {
      message = {{"state", "stopped"}};
    } else {
      const std::vector<AuditCheck> mine(r->checks.begin() + static_cast<std::ptrdiff_t>(*first), r->checks.end());
      message = {{"state", "checked"}, {"prefix", prefix_}, {"checks", ChecksJson(mine)}};
    }
    if (remote) message["fetched"] = TallyJson(remote->fetched());
    SendToRankZero(message);
    return AuditOutcome{};
  }
  Result<AuditReport> r = AuditTraining(
      in, challenge,
      [this](const AuditContext& ctx, OpeningSource& source, AuditReport* report) {
        return GatherCells(ctx, source, report);
      });
  if (messages_.empty()) ReceiveWorkers();  // the audit stopped or failed before the cells were gathered
  if (!r.ok()) return r.status();
  AuditOutcome out{std::move(*r), std::nullopt};
  if (remote) {
    out.fetched = remote->fetched();
    for (const json& m : messages_) AddTally(m.at("fetched"), &*out.fetched);
  }
  return out;
}

Result<CellsOutcome> AuditFarm::CheckShare(const AuditContext& ctx, OpeningSource& source, AuditReport* report) {
  prefix_ = HashToHex(Sha256Of(ReportJson(*report).dump()));
  const CellShare share = FarmShare(report->cells.size(), comm_->rank(), comm_->size());
  BlockBaseCache bases(ctx);
  for (size_t i = share.begin; i < share.end; ++i)
    CheckCell(ctx, source, report->cells[i], &bases, report);
  return CellsOutcome::kVerdictElsewhere;
}

Result<CellsOutcome> AuditFarm::GatherCells(const AuditContext& ctx, OpeningSource& source, AuditReport* report) {
  AFTUNE_RETURN_IF_ERROR(CheckShare(ctx, source, report).status());
  ReceiveWorkers();
  for (size_t k = 0; k < messages_.size(); ++k) {
    const json& m = messages_[k];
    const std::string who = "rank " + std::to_string(k + 1) + " of the audit farm";
    if (m.at("state") == "error") return Status::IOError(who + " could not audit: " + m.at("error").get<std::string>());
    if (m.at("state") == "stopped" || m.at("prefix") != prefix_)
      return Status::Mismatch(who + " made other checks before the cells than rank 0 (its inputs, or the "
                                    "provider's answers to it, differ)");
    for (const json& c : m.at("checks")) report->Add(CheckFromJson(c));
  }
  return CellsOutcome::kChecked;
}

Status AuditFarm::Failed(Status why) {
  if (comm_->size() > 1) {
    if (verdict_here()) ReceiveWorkers();
    else SendToRankZero({{"state", "error"}, {"error", why.ToString()}});
  }
  return why;
}

int AuditFarm::JobExitCode(int mine) {
  int32_t code = mine;
  comm_->Broadcast(0, &code, sizeof code);
  return code;
}

void AuditFarm::SendToRankZero(const json& message) {
  const std::vector<uint8_t> bytes = json::to_cbor(message);
  const uint64_t n = bytes.size();
  comm_->Send(0, &n, sizeof n);
  comm_->Send(0, bytes.data(), n);
}

void AuditFarm::ReceiveWorkers() {
  messages_.clear();
  for (int k = 1; k < comm_->size(); ++k) {
    uint64_t n = 0;
    comm_->Recv(k, &n, sizeof n);
    std::vector<uint8_t> bytes(n);
    comm_->Recv(k, bytes.data(), n);
    messages_.push_back(json::from_cbor(bytes));
  }
}

}  // namespace aftune
