#include "audit/infer_report.h"

#include <cstdio>

#include "audit/challenge.h"
#include "audit/report_html.h"

namespace aftune {

namespace {

std::string Fraction(double f) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%g", f);
  return buf;
}

double MissBound(const InferAuditReport& r, double f) {
  const Population all{r.receipts, r.receipts, 1};
  return MissProbabilityBound(all, static_cast<int64_t>(r.sampled.size()), f);
}

int64_t ReexecutedTokens(const InferAuditReport& r) {
  int64_t n = 0;
  for (const SampledReceipt& s : r.sampled) n += s.tokens;
  return n;
}

}  // namespace

nlohmann::json InferReportJson(const InferAuditReport& r) {
  using nlohmann::json;
  json j;
  j["format"] = kInferAuditReportFormat;
  j["verdict"] = r.passed() ? "pass" : "fail";
  j["served"] = r.served;
  j["log"] = r.log;
  j["seed_checkpoint"] = r.seed_checkpoint;
  j["nonce"] = r.nonce_hex;
  j["challenge_seed"] = r.seed_hex;
  j["samples"] = r.samples;
  j["receipts"] = r.receipts;
  j["sampled"] = json::array();
  for (const SampledReceipt& s : r.sampled)
    j["sampled"].push_back({{"line", s.line}, {"log_index", s.log_index}, {"tokens", s.tokens}});
  json bound = json::object();
  for (double f : kReportedFractions) bound[Fraction(f)] = r.receipts > 0 ? MissBound(r, f) : 1.0;
  j["miss_probability"] = bound;
  j["reexecution"] = {{"receipts", r.sampled.size()},
                      {"tokens", ReexecutedTokens(r)},
                      {"cpu_s", r.reexec_cpu_s},
                      {"wall_s", r.reexec_wall_s},
                      {"generation_s", nullptr}};
  j["checks"] = ChecksJson(r.checks);
  return j;
}

std::string InferReportSummary(const InferAuditReport& r) {
  std::string s = std::string("inference audit: ") + (r.passed() ? "PASS" : "FAIL") + "\n";
  std::string lines;
  for (const SampledReceipt& x : r.sampled) lines += (lines.empty() ? "" : " ") + std::to_string(x.log_index);
  s += "  receipts: " + std::to_string(r.receipts) + "; re-executed " + std::to_string(r.sampled.size()) +
       " (log indexes): " + (lines.empty() ? "none" : lines) + "\n";
  char buf[200];
  std::snprintf(buf, sizeof buf, "  re-execution: %lld tokens, %.3f s CPU, %.3f s wall\n",
                static_cast<long long>(ReexecutedTokens(r)), r.reexec_cpu_s, r.reexec_wall_s);
  s += buf;
  if (r.receipts > 0) {
    s += "  chance of missing a deviation in";
    for (double f : kReportedFractions) {
      std::snprintf(buf, sizeof buf, " %g%% of receipts: <= %.3g%s", 100 * f, MissBound(r, f),
                    f == kReportedFractions[2] ? "" : ";");
      s += buf;
    }
    s += "\n";
  }
  return s + ChecksSummary(r.checks);
}

std::string InferReportHtml(const InferAuditReport& r) {
  const nlohmann::json j = InferReportJson(r);
  const bool pass = r.passed();
  std::string h = HtmlPageHead("aftune inference audit");
  h += std::string("<h1>Inference audit: <span class='") + (pass ? "pass" : "fail") + "'>" +
       (pass ? "PASS" : "FAIL") + "</span></h1><table>";
  for (const char* key : {"served", "log", "seed_checkpoint", "nonce", "challenge_seed", "receipts", "sampled",
                          "miss_probability", "reexecution"})
    h += std::string("<tr><th>") + key + "</th><td><code>" + HtmlEscape(j[key].dump()) + "</code></td></tr>";
  h += "</table><h2>Checks</h2>" + ChecksTableHtml(r.checks);
  return h + "</body></html>\n";
}

}  // namespace aftune
