// The outcome of a training audit: every check with its evidence, the
// verdict and the assurance it buys (docs/audit.md, "Report").
//
// JSON (written by ReportJson; keys sorted, 2-space indent):
//   format            "aftune training audit report v1"
//   verdict           "pass" when every check passed, else "fail"
//   commitment        {contract, trace, records, steps, final_state, weights}
//   nonce, challenge_seed, strategy, samples
//   grid              {layer_blocks, step_blocks, cells, steps, layers}
//   cells             [[L, S], …] re-executed, in the order run
//   compute_fraction  layer-steps re-executed / layer-steps trained
//   miss_probability  {"0.01": p, "0.05": p, "0.1": p}: upper bound on the
//                     chance of missing a deviation in that fraction of the
//                     strategy's population (null for --cells)
//   population        "all cells" | "input cells" | "explicit cells"
//   loss_curve        [f32 loss of every step] as recorded (for the page)
//   checks            [{check, result, message, cell?, evidence}]; evidence
//                     holds what the check compared: expected/found digests
//                     or bits, the step, the micro-batch, the tensor
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "audit/challenge.h"

namespace aftune {

inline constexpr std::string_view kAuditReportFormat = "aftune training audit report v1";

struct AuditCheck {
  std::string check;          // e.g. "cell.end_state" (docs/audit.md lists them)
  bool passed = false;
  std::string message;        // what was found, in words
  std::optional<Cell> cell;   // for per-cell checks
  nlohmann::json evidence = nlohmann::json::object();
};

// The checks of an audit, training or inference, in the order made.
struct AuditChecks {
  std::vector<AuditCheck> checks;

  bool passed() const;
  // Appends a check; returns `passed`.
  bool Add(AuditCheck c);
};

struct AuditReport : AuditChecks {
  nlohmann::json commitment = nlohmann::json::object();
  std::string nonce_hex, seed_hex;
  std::string strategy;  // a ChallengeStrategyName or "explicit"
  int64_t samples = 0;
  TraceLayout layout;
  int64_t layers = 0;
  std::vector<Cell> cells;
  double compute_fraction = 0;
  std::optional<Population> population;  // nullopt: explicit cells
  std::vector<float> loss_curve;
};

// The fractions the report bounds.
inline constexpr double kReportedFractions[] = {0.01, 0.05, 0.10};

nlohmann::json ReportJson(const AuditReport& r);
// A few lines for the terminal: verdict, cells, bound, the failed checks.
std::string ReportSummary(const AuditReport& r);

// The "checks" array of a report: [{check, result, message, evidence,
// cell?}].
nlohmann::json ChecksJson(const std::vector<AuditCheck>& checks);
// "  checks: P passed, F failed" and a "  FAILED check: message" line per
// failed check.
std::string ChecksSummary(const std::vector<AuditCheck>& checks);

}  // namespace aftune
