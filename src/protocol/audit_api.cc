#include "protocol/audit_api.h"

#include <map>
#include <nlohmann/json.hpp>

#include "base/strict_json.h"
#include "model/safetensors.h"

namespace aftune {

namespace {

constexpr std::string_view kStateFormat = "aftune block state v1";
constexpr std::string_view kBoundaryFormat = "aftune boundary v1";
// "m<micro>" for micro < this: far above any batch's micro-batch count.
constexpr size_t kMaxMicroBatches = 1 << 20;

std::string MicroName(size_t micro) { return "m" + std::to_string(micro); }

// The parsed safetensors answer, its format metadata checked.
Result<SafetensorsFile> ParseTensorAnswer(std::string bytes, std::string_view format, size_t metadata_entries,
                                          const std::string& source) {
  AFTUNE_ASSIGN_OR_RETURN(SafetensorsFile file, SafetensorsFile::Parse(std::move(bytes), source));
  const auto& meta = file.metadata();
  auto it = meta.find("format");
  if (it == meta.end() || it->second != format || meta.size() != metadata_entries)
    return Status::Corruption(source + ": metadata is not that of an '" + std::string(format) + "' answer");
  for (const SafetensorsEntry& e : file.entries())
    if (e.dtype != DType::kF32) return Status::Corruption(source + ": tensor '" + e.name + "' is not F32");
  return file;
}

}  // namespace

std::string AuditCommitmentsPath() { return "/v1/audit/commitments"; }
std::string AuditRunPath(const Hash& commitment_digest) { return "/v1/audit/runs/" + HashToHex(commitment_digest); }
std::string AuditLinesPath(const Hash& c) { return AuditRunPath(c) + "/lines"; }
std::string AuditStatePath(const Hash& c, int64_t step, int64_t block) {
  return AuditRunPath(c) + "/state/" + std::to_string(step) + "/" + std::to_string(block);
}
std::string AuditBoundaryPath(const Hash& c, int64_t step, int64_t boundary, BoundaryKind kind) {
  return AuditRunPath(c) + "/boundary/" + std::to_string(step) + "/" + std::to_string(boundary) + "/" +
         std::string(BoundaryKindName(kind));
}
std::string AuditBaseFilePath(const Hash& c, std::string_view name) {
  return AuditRunPath(c) + "/base/" + std::string(name);
}
std::string AuditBaseSlicePath(const Hash& c, int64_t block) {
  return AuditRunPath(c) + "/base/block/" + std::to_string(block);
}
bool IsBaseFileName(std::string_view name) {
  for (std::string_view n : kBaseFileNames)
    if (n == name) return true;
  return false;
}
std::string_view BoundaryKindName(BoundaryKind kind) {
  return kind == BoundaryKind::kActivation ? "activation" : "gradient";
}

std::string CommitmentsAnswer(const std::vector<HeldRun>& runs) {
  nlohmann::json out = nlohmann::json::array();
  for (const HeldRun& r : runs)
    out.push_back({{"commitment", r.commitment}, {"digest", HashToHex(r.digest)}, {"run", r.run}});
  return nlohmann::json{{"runs", out}}.dump();
}

Result<std::vector<HeldRun>> ParseCommitmentsAnswer(std::string_view body, const std::string& source) {
  AFTUNE_ASSIGN_OR_RETURN(nlohmann::json j, ParseStrictJson(body, source));
  if (!j.is_object() || j.size() != 1 || !j.contains("runs") || !j["runs"].is_array())
    return Status::Corruption(source + ": expected {\"runs\":[…]}");
  std::vector<HeldRun> runs;
  for (const nlohmann::json& e : j["runs"]) {
    const std::string where = source + ": runs[" + std::to_string(runs.size()) + "]";
    if (!e.is_object() || e.size() != 3 || !e.contains("commitment") || !e["commitment"].is_string() ||
        !e.contains("digest") || !e["digest"].is_string() || !e.contains("run") || !e["run"].is_string())
      return Status::Corruption(where + ": expected {\"commitment\":\"…\",\"digest\":\"hex\",\"run\":\"…\"}");
    HeldRun r{e["run"].get<std::string>(), e["commitment"].get<std::string>(), {}};
    Result<Hash> digest = HashFromHex(e["digest"].get<std::string>());
    if (!digest.ok() || *digest != Sha256Of(r.commitment))
      return Status::Corruption(where + ": 'digest' is not the SHA-256 of its commitment");
    r.digest = *digest;
    runs.push_back(std::move(r));
  }
  return runs;
}

std::string LinesRequest(std::span<const uint64_t> indices) {
  AFTUNE_CHECK(indices.size() <= kMaxLinesPerRequest);
  return nlohmann::json{{"indices", std::vector<uint64_t>(indices.begin(), indices.end())}}.dump();
}

Result<std::vector<uint64_t>> ParseLinesRequest(std::string_view body) {
  Result<nlohmann::json> j = ParseStrictJson(body, "lines request");
  if (!j.ok()) return Status::InvalidArgument(j.status().message());
  if (!j->is_object() || j->size() != 1 || !j->contains("indices") || !(*j)["indices"].is_array())
    return Status::InvalidArgument("lines request: expected {\"indices\":[n,…]}");
  const nlohmann::json& a = (*j)["indices"];
  if (a.size() > kMaxLinesPerRequest)
    return Status::InvalidArgument("lines request: " + std::to_string(a.size()) + " indices, more than " +
                                   std::to_string(kMaxLinesPerRequest));
  std::vector<uint64_t> out;
  for (const nlohmann::json& i : a) {
    if (!i.is_number_unsigned()) return Status::InvalidArgument("lines request: 'indices' holds a non-index");
    out.push_back(i.get<uint64_t>());
  }
  return out;
}

Result<std::vector<OpenedLine>> ParseLinesAnswer(std::string_view body, std::span<const uint64_t> asked,
                                                 const std::string& source) {
  AFTUNE_ASSIGN_OR_RETURN(std::vector<OpenedLine> lines, ParseOpenedLinesJson(body, source));
  if (lines.size() != asked.size())
    return Status::Corruption(source + ": " + std::to_string(lines.size()) + " lines answered, " +
                              std::to_string(asked.size()) + " asked");
  for (size_t i = 0; i < lines.size(); ++i)
    if (lines[i].index != asked[i])
      return Status::Corruption(source + ": answer " + std::to_string(i) + " opens line " +
                                std::to_string(lines[i].index) + ", not the " + std::to_string(asked[i]) + " asked");
  return lines;
}

Result<std::string> StateAnswer(const TensorMap& state) {
  return SerializeSafetensorsF32(state, DType::kF32, {{"format", std::string(kStateFormat)}});
}

Result<TensorMap> ParseStateAnswer(std::string bytes, const std::string& source) {
  AFTUNE_ASSIGN_OR_RETURN(SafetensorsFile file, ParseTensorAnswer(std::move(bytes), kStateFormat, 1, source));
  TensorMap out;
  for (const SafetensorsEntry& e : file.entries()) {
    AFTUNE_ASSIGN_OR_RETURN(Tensor t, file.ToF32(e));
    out.emplace(e.name, std::move(t));
  }
  return out;
}

Result<std::string> BoundaryAnswer(const std::vector<Tensor>& tensors) {
  TensorMap named;
  for (size_t m = 0; m < tensors.size(); ++m) named.emplace(MicroName(m), tensors[m]);
  return SerializeSafetensorsF32(named, DType::kF32,
                                 {{"format", std::string(kBoundaryFormat)},
                                  {"micro_batches", std::to_string(tensors.size())}});
}

Result<std::vector<Tensor>> ParseBoundaryAnswer(std::string bytes, const std::string& source) {
  AFTUNE_ASSIGN_OR_RETURN(SafetensorsFile file, ParseTensorAnswer(std::move(bytes), kBoundaryFormat, 2, source));
  const size_t n = file.entries().size();
  auto count = file.metadata().find("micro_batches");
  if (n > kMaxMicroBatches || count == file.metadata().end() || count->second != std::to_string(n))
    return Status::Corruption(source + ": metadata 'micro_batches' is not the number of tensors");
  std::vector<Tensor> out(n);
  for (size_t m = 0; m < n; ++m) {
    const SafetensorsEntry* e = file.Find(MicroName(m));
    if (!e) return Status::Corruption(source + ": tensor '" + MicroName(m) + "' is missing");
    AFTUNE_ASSIGN_OR_RETURN(out[m], file.ToF32(*e));
  }
  return out;
}

}  // namespace aftune
