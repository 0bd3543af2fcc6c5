#include "client/remote_openings.h"

#include <algorithm>

namespace aftune {

Result<std::vector<OpenedLine>> RemoteOpenings::Lines(std::span<const uint64_t> indices) {
  FetchTally& tally = provider_->tally();
  std::vector<OpenedLine> out;
  for (size_t at = 0; at < indices.size(); at += kMaxLinesPerRequest) {
    std::span<const uint64_t> part = indices.subspan(at, std::min(kMaxLinesPerRequest, indices.size() - at));
    const std::string path = AuditLinesPath(provider_->run());
    AFTUNE_ASSIGN_OR_RETURN(std::string body, provider_->Fetch("POST", path, LinesRequest(part), &tally.line_bytes,
                                                               provider_->DefaultBounds()));
    AFTUNE_ASSIGN_OR_RETURN(std::vector<OpenedLine> lines, ParseLinesAnswer(body, part, provider_->url() + path));
    tally.lines += lines.size();
    for (OpenedLine& l : lines) out.push_back(std::move(l));
  }
  return out;
}

Result<TensorMap> RemoteOpenings::BlockState(int64_t step, int64_t block) {
  FetchTally& tally = provider_->tally();
  const std::string path = AuditStatePath(provider_->run(), step, block);
  AFTUNE_ASSIGN_OR_RETURN(std::string body,
                          provider_->Fetch("GET", path, "", &tally.state_bytes, provider_->DefaultBounds()));
  AFTUNE_ASSIGN_OR_RETURN(TensorMap state, ParseStateAnswer(std::move(body), provider_->url() + path));
  ++tally.states;
  return state;
}

Result<std::vector<Tensor>> RemoteOpenings::Boundary(int64_t step, int64_t boundary, BoundaryKind kind) {
  FetchTally& tally = provider_->tally();
  const std::string path = AuditBoundaryPath(provider_->run(), step, boundary, kind);
  AFTUNE_ASSIGN_OR_RETURN(std::string body,
                          provider_->Fetch("GET", path, "", &tally.boundary_bytes, provider_->DefaultBounds()));
  AFTUNE_ASSIGN_OR_RETURN(std::vector<Tensor> tensors, ParseBoundaryAnswer(std::move(body), provider_->url() + path));
  ++tally.boundaries;
  return tensors;
}

}  // namespace aftune
