#include "serve/log_api.h"

#include <vector>

#include <nlohmann/json.hpp>

#include "commit/encoding.h"

namespace aftune {

using Json = nlohmann::json;

namespace {

HttpReply Error(int status, const std::string& param, const std::string& message) {
  ApiError e = InvalidRequest(param, message);
  e.http_status = status;
  if (status >= 500) e.type = "server_error";
  return {status, e.ToJson()};
}

// The reply for a failed log call: the caller's fault or the server's.
HttpReply FromStatus(const Status& st, const std::string& param) {
  switch (st.code()) {
    case Status::Code::kInvalidArgument:
      return Error(400, param, st.message());
    case Status::Code::kNotFound:
      return Error(404, param, st.message());
    default:
      return Error(500, "", st.message());
  }
}

Result<uint64_t> Number(std::string_view text, const std::string& name) {
  Result<uint64_t> v = ParseDecimalU64(text);
  if (!v.ok()) return Status::InvalidArgument("'" + name + "' must be a canonical decimal number");
  return *v;
}

std::vector<std::string> HexList(const std::vector<Hash>& hashes) {
  std::vector<std::string> out;
  for (const Hash& h : hashes) out.push_back(HashToHex(h));
  return out;
}

}  // namespace

HttpReply CheckpointReply(ReceiptLog& log) { return {200, Json{{"checkpoint", log.LatestCheckpoint()}}.dump()}; }

HttpReply ReceiptReply(ReceiptLog& log, std::string_view index_text) {
  Result<uint64_t> index = Number(index_text, "index");
  if (!index.ok()) return FromStatus(index.status(), "index");
  Result<std::string> leaf = log.Leaf(*index);
  if (!leaf.ok()) return FromStatus(leaf.status(), "index");
  return {200, Json{{"index", *index}, {"receipt", *leaf}}.dump(-1, ' ', false, Json::error_handler_t::replace)};
}

HttpReply InclusionProofReply(ReceiptLog& log, std::string_view index_text, std::string_view size_text) {
  Result<uint64_t> index = Number(index_text, "index");
  if (!index.ok()) return FromStatus(index.status(), "index");
  Result<uint64_t> size = Number(size_text, "size");
  if (!size.ok()) return FromStatus(size.status(), "size");
  Result<InclusionProof> proof = log.ProveInclusion(*index, *size);
  if (!proof.ok()) return FromStatus(proof.status(), "size");
  return {200, Json{{"index", *index}, {"size", *size}, {"proof", HexList(*proof)}}.dump()};
}

HttpReply ConsistencyProofReply(ReceiptLog& log, std::string_view old_text, std::string_view new_text) {
  Result<uint64_t> old_size = Number(old_text, "old");
  if (!old_size.ok()) return FromStatus(old_size.status(), "old");
  Result<uint64_t> new_size = Number(new_text, "new");
  if (!new_size.ok()) return FromStatus(new_size.status(), "new");
  Result<ConsistencyProof> proof = log.ProveConsistency(*old_size, *new_size);
  if (!proof.ok()) return FromStatus(proof.status(), "new");
  return {200, Json{{"old", *old_size}, {"new", *new_size}, {"proof", HexList(*proof)}}.dump()};
}

}  // namespace aftune
