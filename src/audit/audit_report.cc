#include "audit/audit_report.h"

#include <cstdio>

namespace aftune {

namespace {

std::string Fraction(double f) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%g", f);
  return buf;
}

std::string CellText(const Cell& c) { return std::to_string(c.block) + "," + std::to_string(c.step_block); }

}  // namespace

bool AuditChecks::passed() const {
  for (const AuditCheck& c : checks)
    if (!c.passed) return false;
  return true;
}

bool AuditChecks::Add(AuditCheck c) {
  const bool ok = c.passed;
  checks.push_back(std::move(c));
  return ok;
}

nlohmann::json ReportJson(const AuditReport& r) {
  using nlohmann::json;
  json j;
  j["format"] = kAuditReportFormat;
  j["verdict"] = r.passed() ? "pass" : "fail";
  j["commitment"] = r.commitment;
  j["nonce"] = r.nonce_hex;
  j["challenge_seed"] = r.seed_hex;
  j["strategy"] = r.strategy;
  j["samples"] = r.samples;
  j["grid"] = {{"layer_blocks", r.layout.blocks}, {"step_blocks", r.layout.step_blocks()},
               {"cells", r.layout.cells()},       {"steps", r.layout.total_steps},
               {"steps_per_block", r.layout.steps_per_block}, {"layers", r.layers}};
  j["cells"] = json::array();
  for (const Cell& c : r.cells) j["cells"].push_back({c.block, c.step_block});
  j["compute_fraction"] = r.compute_fraction;
  j["population"] = !r.population ? "explicit cells" : r.strategy == "input" ? "input cells" : "all cells";
  json bound = nullptr;
  if (r.population) {
    bound = json::object();
    for (double f : kReportedFractions)
      bound[Fraction(f)] = MissProbabilityBound(*r.population, static_cast<int64_t>(r.cells.size()), f);
  }
  j["miss_probability"] = bound;
  j["loss_curve"] = r.loss_curve;
  j["checks"] = ChecksJson(r.checks);
  return j;
}

nlohmann::json ChecksJson(const std::vector<AuditCheck>& checks) {
  nlohmann::json out = nlohmann::json::array();
  for (const AuditCheck& c : checks) {
    nlohmann::json e = {{"check", c.check},
                        {"result", c.passed ? "pass" : "fail"},
                        {"message", c.message},
                        {"evidence", c.evidence}};
    if (c.cell) e["cell"] = {c.cell->block, c.cell->step_block};
    out.push_back(std::move(e));
  }
  return out;
}

std::string ChecksSummary(const std::vector<AuditCheck>& checks) {
  size_t failed = 0;
  for (const AuditCheck& c : checks) failed += !c.passed;
  std::string s = "  checks: " + std::to_string(checks.size() - failed) + " passed, " + std::to_string(failed) +
                  " failed\n";
  for (const AuditCheck& c : checks)
    if (!c.passed)
      s += "  FAILED " + c.check + (c.cell ? " cell " + CellText(*c.cell) : "") + ": " + c.message + "\n";
  return s;
}

std::string ReportSummary(const AuditReport& r) {
  std::string s = std::string("training audit: ") + (r.passed() ? "PASS" : "FAIL") + "\n";
  std::string cells;
  for (const Cell& c : r.cells) cells += (cells.empty() ? "" : " ") + CellText(c);
  s += "  cells (" + r.strategy + ", " + std::to_string(r.cells.size()) + " of " + std::to_string(r.layout.cells()) +
       "): " + (cells.empty() ? "none" : cells) + "\n";
  char buf[160];
  std::snprintf(buf, sizeof buf, "  compute: %.4f of training (layer-steps)\n", r.compute_fraction);
  s += buf;
  if (r.population) {
    s += "  chance of missing a deviation in";
    for (double f : kReportedFractions) {
      std::snprintf(buf, sizeof buf, " %g%% of %s: <= %.3g%s", 100 * f,
                    r.strategy == "input" ? "input cells" : "cells",
                    MissProbabilityBound(*r.population, static_cast<int64_t>(r.cells.size()), f),
                    f == kReportedFractions[2] ? "" : ";");
      s += buf;
    }
    s += "\n";
  }
  return s + ChecksSummary(r.checks);
}

}  // namespace aftune
