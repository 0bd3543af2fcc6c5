#include "provide/provide_service.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "base/file.h"

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
  return {200, "application/octet-stream", std::move(*bytes)};
}

}  // namespace

ProvideAnswer ErrorAnswer(int status, const std::string& message) {
  return {status, "application/json", nlohmann::json{{"error", message}}.dump()};
}

Result<std::unique_ptr<ProvideService>> ProvideService::Open(const std::vector<std::string>& run_dirs,
                                                             std::vector<AuditToken> tokens) {
  std::unique_ptr<ProvideService> service(new ProvideService(std::move(tokens)));
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
    service->runs_.push_back(std::move(run));
  }
  return service;
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
  return {200, "application/json", CommitmentsAnswer(held)};
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
  return {200, "application/json", OpenedLinesJson(*lines).dump()};
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

}  // namespace aftune
