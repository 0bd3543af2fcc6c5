#include "provide/provide_service.h"

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "base/file.h"
#include "train/trainer.h"

namespace aftune {

namespace {

int HttpStatusOf(const Status& s) {
  switch (s.code()) {
    case Status::Code::kNotFound: return 404;
    case Status::Code::kInvalidArgument: return 400;
    default: return 500;
  }
}

ProvideAnswer FromStatus(const Status& s) { return ErrorAnswer(HttpStatusOf(s), s.message()); }

ProvideAnswer TensorAnswer(Result<std::string> bytes) {
  if (!bytes.ok()) return FromStatus(bytes.status());
  return {200, "application/octet-stream", std::move(*bytes), {}};
}

}  // namespace

ProvideAnswer ErrorAnswer(int status, const std::string& message) {
  return {status, "application/json", nlohmann::json{{"error", message}}.dump(), {}};
}

Result<std::unique_ptr<ProvideService>> ProvideService::Open(const std::vector<std::string>& run_dirs,
                                                             const std::vector<std::string>& base_dirs,
                                                             std::vector<AuditToken> tokens) {
  std::unique_ptr<ProvideService> service(new ProvideService(std::move(tokens)));
  for (const std::string& dir : base_dirs) {
    AFTUNE_ASSIGN_OR_RETURN(std::unique_ptr<ServedBase> base, ServedBase::Open(dir));
    for (const auto& other : service->bases_)
      if (other->state() == base->state())
        return Status::InvalidArgument("--model " + dir + " and " + other->dir() + " hold the same base (state digest " +
                                       HashToHex(base->state()) + ")");
    service->bases_.push_back(std::move(base));
  }
  for (const std::string& dir : run_dirs) {
    auto run = std::make_unique<Run>();
    run->held.run = std::filesystem::path(dir).lexically_normal().filename().string();
    if (run->held.run.empty()) run->held.run = std::filesystem::path(dir).lexically_normal().parent_path().filename().string();
    AFTUNE_ASSIGN_OR_RETURN(run->held.commitment, ReadFile(RunDir{dir}.commitment()));
    run->held.digest = Sha256Of(run->held.commitment);
    AFTUNE_ASSIGN_OR_RETURN(run->openings, RunOpenings::Open(dir));
    for (const auto& other : service->runs_)
      if (other->held.run == run->held.run || other->held.digest == run->held.digest)
        return Status::InvalidArgument(dir + ": another --run has the same name '" + run->held.run +
                                       "' or the same commitment");
    AFTUNE_RETURN_IF_ERROR(service->AttachBase(run.get(), dir));
    service->runs_.push_back(std::move(run));
  }
  for (const auto& base : service->bases_)
    if (std::none_of(service->runs_.begin(), service->runs_.end(), [&](const auto& r) { return r->base == base.get(); }))
      return Status::InvalidArgument("--model " + base->dir() + " (state digest " + HashToHex(base->state()) +
                                     ") is the contracted base of none of the runs");
  return service;
}

Status ProvideService::AttachBase(Run* run, const std::string& dir) {
  const Contract& contract = run->openings->contract();
  for (const auto& base : bases_) {
    if (base->state() != contract.base_state_digest) continue;
    AFTUNE_RETURN_IF_ERROR(base->CheckContract(contract).WithContext("run " + dir + "'s contract"));
    run->base = base.get();
    run->blocks = LayerBlocks(base->config(), contract.grid.layers_per_block);
    break;  // bases have distinct state digests
  }
  return Status::Ok();
}

std::vector<std::string> ProvideService::BaseListing() const {
  std::vector<std::string> out;
  for (const auto& base : bases_) {
    std::string line = base->dir() + ":";
    for (const auto& run : runs_)
      if (run->base == base.get()) line += " " + run->held.run;
    out.push_back(line);
  }
  return out;
}

Result<const ServedBase*> ProvideService::BaseOf(const Run& run, ProvideAnswer* refusal) const {
  if (run.base) return run.base;
  *refusal = ErrorAnswer(404, "this service holds no base model for run '" + run.held.run +
                                  "' (the provider starts it with --model BASE)");
  return Status::NotFound("no base");
}

Result<ProvideService::Run*> ProvideService::Authorize(std::string_view bearer, std::string_view hex,
                                                       ProvideAnswer* refusal) {
  const AuditToken* token = bearer.empty() ? nullptr : MatchAuditToken(tokens_, bearer);
  if (!token) {
    *refusal = ErrorAnswer(401, bearer.empty() ? "no bearer token" : "unknown bearer token");
    return Status::InvalidArgument("refused");
  }
  if (hex.empty()) return nullptr;
  for (const auto& run : runs_)
    if (HashToHex(run->held.digest) == hex) {
      if (token->MayOpen(run->held.run)) return run.get();
      break;
    }
  *refusal = ErrorAnswer(403, "client '" + token->client + "' may not open run " + std::string(hex));
  return Status::InvalidArgument("refused");
}

ProvideAnswer ProvideService::Commitments(std::string_view bearer) {
  ProvideAnswer refusal;
  if (!Authorize(bearer, "", &refusal).ok()) return refusal;
  const AuditToken* token = MatchAuditToken(tokens_, bearer);
  std::vector<HeldRun> held;
  for (const auto& run : runs_)
    if (token->MayOpen(run->held.run)) held.push_back(run->held);
  return {200, "application/json", CommitmentsAnswer(held), {}};
}

ProvideAnswer ProvideService::Lines(std::string_view bearer, std::string_view hex, std::string_view body) {
  ProvideAnswer refusal;
  Result<Run*> run = Authorize(bearer, hex, &refusal);
  if (!run.ok()) return refusal;
  Result<std::vector<uint64_t>> indices = ParseLinesRequest(body);
  if (!indices.ok()) return FromStatus(indices.status());
  std::lock_guard<std::mutex> lock((*run)->mu);
  Result<std::vector<OpenedLine>> lines = (*run)->openings->Lines(*indices);
  if (!lines.ok()) return FromStatus(lines.status());
  return {200, "application/json", OpenedLinesJson(*lines).dump(), {}};
}

ProvideAnswer ProvideService::State(std::string_view bearer, std::string_view hex, int64_t step, int64_t block) {
  ProvideAnswer refusal;
  Result<Run*> run = Authorize(bearer, hex, &refusal);
  if (!run.ok()) return refusal;
  std::lock_guard<std::mutex> lock((*run)->mu);
  Result<TensorMap> state = (*run)->openings->BlockState(step, block);
  if (!state.ok()) return FromStatus(state.status());
  return TensorAnswer(StateAnswer(*state));
}

ProvideAnswer ProvideService::Boundary(std::string_view bearer, std::string_view hex, int64_t step, int64_t boundary,
                                       BoundaryKind kind) {
  ProvideAnswer refusal;
  Result<Run*> run = Authorize(bearer, hex, &refusal);
  if (!run.ok()) return refusal;
  std::lock_guard<std::mutex> lock((*run)->mu);
  Result<std::vector<Tensor>> tensors = (*run)->openings->Boundary(step, boundary, kind);
  if (!tensors.ok()) return FromStatus(tensors.status());
  return TensorAnswer(BoundaryAnswer(*tensors));
}

ProvideAnswer ProvideService::BaseFile(std::string_view bearer, std::string_view hex, std::string_view name) {
  ProvideAnswer refusal;
  Result<Run*> run = Authorize(bearer, hex, &refusal);
  if (!run.ok()) return refusal;
  Result<const ServedBase*> base = BaseOf(**run, &refusal);
  if (!base.ok()) return refusal;
  Result<std::string_view> bytes = (*base)->File(name);
  if (!bytes.ok()) return FromStatus(bytes.status());
  return {200, "application/octet-stream", std::string(*bytes), {}};
}

ProvideAnswer ProvideService::BaseSlice(std::string_view bearer, std::string_view hex, int64_t block) {
  ProvideAnswer refusal;
  Result<Run*> run = Authorize(bearer, hex, &refusal);
  if (!run.ok()) return refusal;
  Result<const ServedBase*> base = BaseOf(**run, &refusal);
  if (!base.ok()) return refusal;
  const std::vector<LayerSpan>& blocks = (*run)->blocks;
  if (block < 0 || block >= static_cast<int64_t>(blocks.size()))
    return ErrorAnswer(404, "the run has " + std::to_string(blocks.size()) + " layer-blocks, no block " +
                                std::to_string(block));
  Result<SliceAnswer> slice = (*base)->Slice(blocks[static_cast<size_t>(block)]);
  if (!slice.ok()) return FromStatus(slice.status());
  return {200, "application/octet-stream", std::move(slice->prefix), std::move(slice->pieces)};
}

}  // namespace aftune
