// The outcome of an inference audit (docs/audit.md, "Inference audit"):
// every check with its evidence, the draw and the re-execution cost.
//
// JSON (written by InferReportJson; keys sorted, 2-space indent):
//   format            "aftune inference audit report v1"
//   verdict           "pass" when every check passed, else "fail"
//   served            {model, adapter, commitment}: what the auditor holds
//                     as the committed model (hex or null)
//   log               {origin, latest_size, latest_root}: the server's latest
//                     checkpoint at audit time
//   seed_checkpoint   {size, root}: the largest checkpoint in the receipts
//                     file, whose root seeds the draw
//   nonce, challenge_seed, samples (asked), receipts (in the file)
//   sampled           [{line, log_index, tokens}] re-executed, in draw order
//                     (line: 1-based line of the receipts file)
//   miss_probability  {"0.01": p, "0.05": p, "0.1": p}: upper bound on the
//                     chance that no sampled receipt is among a fraction f of
//                     the file's receipts (hypergeometric)
//   reexecution       {receipts, tokens, cpu_s, wall_s, generation_s}:
//                     generation_s is null (receipts carry no timing)
//   checks            [{check, result, message, evidence}]
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "audit/audit_report.h"

namespace aftune {

inline constexpr std::string_view kInferAuditReportFormat = "aftune inference audit report v1";

struct SampledReceipt {
  int64_t line = 0;  // 1-based line of the receipts file
  uint64_t log_index = 0;
  int64_t tokens = 0;  // generated tokens re-checked
};

struct InferAuditReport : AuditChecks {
  nlohmann::json served = nlohmann::json::object();
  nlohmann::json log = nlohmann::json::object();
  nlohmann::json seed_checkpoint = nlohmann::json::object();
  std::string nonce_hex, seed_hex;
  int64_t samples = 0;
  int64_t receipts = 0;
  std::vector<SampledReceipt> sampled;
  double reexec_cpu_s = 0, reexec_wall_s = 0;
};

nlohmann::json InferReportJson(const InferAuditReport& r);
// A few lines for the terminal: verdict, receipts, draw, bound, failures.
std::string InferReportSummary(const InferAuditReport& r);
// One self-contained HTML page: verdict, draw, bound and every check.
std::string InferReportHtml(const InferAuditReport& r);

}  // namespace aftune
