// The provider's audit HTTP API as both parties speak it (aftune provide on
// the provider's side, client/remote_openings.h on the auditor's): its
// paths, limits and the encodings of its answers. docs/formats.md, "Audit
// HTTP API", is the specification; this file implements it.
//
// A run is addressed by the SHA-256 of its signed commitment note, which the
// auditor holds: /v1/audit/runs/<64 hex>. Every request carries
// `Authorization: Bearer <token>`.
//
//   GET  /v1/audit/commitments               {"runs":[{"commitment":"<note>","digest":"<hex>","run":"<name>"}]}
//                                            the runs this token may open
//   POST <run>/lines    {"indices":[n,…]}    [{"index":n,"proof":[hex…],"text":"…"}, …] (OpenedLinesJson),
//                                            in the order asked; at most kMaxLinesPerRequest
//   GET  <run>/state/<step>/<block>          safetensors: the block state, F32 tensors by name,
//                                            metadata {"format":"aftune block state v1"}
//   GET  <run>/boundary/<step>/<b>/<kind>    safetensors: tensors "m<micro>" (F32), kind
//                                            "activation" or "gradient", metadata
//                                            {"format":"aftune boundary v1","micro_batches":"<n>"}
//   GET  <run>/base/<file>                   the run's base's small file as stored: config.json,
//                                            tokenizer.json, tokenizer.model, tokenizer_config.json
//                                            or chat_template.jinja (404 when the base has none)
//   GET  <run>/base/block/<L>                safetensors: layer-block L's base tensors as stored,
//                                            each with its proof (protocol/base_slice.h)
//
// Errors are JSON {"error":"…"} with 400 (malformed), 401 (no or unknown
// token), 403 (the token may not open the run), 404 (no such run or entry),
// 413 (body too large), 500.
//
// Trust: the parsers below check form only (strict JSON, strict
// safetensors, exact names, F32); the auditor checks content against the
// commitment (lines by their proofs, tensors by their committed digests).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "commit/sha256.h"
#include "protocol/opening.h"

namespace aftune {

inline constexpr size_t kMaxLinesPerRequest = 4096;
// The largest request body the provider reads (a lines request of
// kMaxLinesPerRequest indices fits many times over).
inline constexpr size_t kMaxAuditRequestBytes = 256 * 1024;

std::string AuditCommitmentsPath();
std::string AuditRunPath(const Hash& commitment_digest);
std::string AuditLinesPath(const Hash& commitment_digest);
std::string AuditStatePath(const Hash& commitment_digest, int64_t step, int64_t block);
std::string AuditBoundaryPath(const Hash& commitment_digest, int64_t step, int64_t boundary, BoundaryKind kind);
std::string_view BoundaryKindName(BoundaryKind kind);
std::string AuditBaseFilePath(const Hash& commitment_digest, std::string_view name);
std::string AuditBaseSlicePath(const Hash& commitment_digest, int64_t block);

// The base's small files the service answers, what an auditor without the
// base reads it with (the config, the tokenizer, the chat template), and the
// largest it answers or accepts.
inline constexpr std::string_view kBaseFileNames[] = {"config.json", "tokenizer.json", "tokenizer.model",
                                                      "tokenizer_config.json", "chat_template.jinja"};
inline constexpr uint64_t kMaxBaseFileBytes = uint64_t{64} << 20;
bool IsBaseFileName(std::string_view name);

// One run a provider holds, as GET /v1/audit/commitments lists it.
struct HeldRun {
  std::string run;         // the provider's name for it
  std::string commitment;  // the signed note
  Hash digest{};           // SHA-256 of `commitment`
};
std::string CommitmentsAnswer(const std::vector<HeldRun>& runs);
// kCorruption naming `source` unless each digest is its note's SHA-256.
Result<std::vector<HeldRun>> ParseCommitmentsAnswer(std::string_view body, const std::string& source);

// REQUIRES: indices.size() <= kMaxLinesPerRequest.
std::string LinesRequest(std::span<const uint64_t> indices);
// kInvalidArgument naming the field: not {"indices":[n,…]}, or more than
// kMaxLinesPerRequest indices.
Result<std::vector<uint64_t>> ParseLinesRequest(std::string_view body);
// kCorruption unless the answer opens exactly `asked`, in order.
Result<std::vector<OpenedLine>> ParseLinesAnswer(std::string_view body, std::span<const uint64_t> asked,
                                                 const std::string& source);

Result<std::string> StateAnswer(const TensorMap& state);
Result<TensorMap> ParseStateAnswer(std::string bytes, const std::string& source);
Result<std::string> BoundaryAnswer(const std::vector<Tensor>& tensors);
Result<std::vector<Tensor>> ParseBoundaryAnswer(std::string bytes, const std::string& source);

}  // namespace aftune
