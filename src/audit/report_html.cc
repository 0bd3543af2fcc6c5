#include "audit/report_html.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

namespace aftune {

std::string HtmlEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string HtmlPageHead(const std::string& title) {
  return "<!doctype html><html><head><meta charset='utf-8'><title>" + HtmlEscape(title) + "</title><style>"
                  "body{font-family:sans-serif;margin:2em;max-width:1100px}td,th{border:1px solid #ddd;padding:3px 6px;"
                  "font-size:13px;vertical-align:top}table{border-collapse:collapse;margin:1em 0}.pass{background:#d8f0d8}"
                  ".fail{background:#f6d0d0}.grid td{width:14px;text-align:center}code{font-size:12px;word-break:break-all}"
                  "</style></head><body>";
}

namespace {

std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

// The loss of every step as a polyline, steps on x, loss on y.
std::string LossSvg(const std::vector<float>& loss) {
  const double w = 640, h = 220, pad = 36;
  std::string svg = "<svg xmlns='http://www.w3.org/2000/svg' width='640' height='220' role='img'>";
  std::vector<float> finite;
  for (float v : loss)
    if (std::isfinite(v)) finite.push_back(v);
  if (finite.empty()) return svg + "<text x='10' y='20'>no loss recorded</text></svg>";
  const auto [lo_it, hi_it] = std::minmax_element(finite.begin(), finite.end());
  const double lo = *lo_it, hi = *hi_it > *lo_it ? *hi_it : *lo_it + 1;
  std::string points;
  for (size_t i = 0; i < loss.size(); ++i) {
    if (!std::isfinite(loss[i])) continue;
    const double x = pad + (w - 2 * pad) * (loss.size() > 1 ? static_cast<double>(i) / (loss.size() - 1) : 0.5);
    const double y = h - pad - (h - 2 * pad) * (loss[i] - lo) / (hi - lo);
    points += Num(x) + "," + Num(y) + " ";
  }
  svg += "<rect x='" + Num(pad) + "' y='" + Num(pad) + "' width='" + Num(w - 2 * pad) + "' height='" +
         Num(h - 2 * pad) + "' fill='none' stroke='#ccc'/>";
  svg += "<polyline fill='none' stroke='#1f5fa8' stroke-width='1.5' points='" + points + "'/>";
  svg += "<text x='4' y='" + Num(pad + 4) + "' font-size='11'>" + Num(hi) + "</text>";
  svg += "<text x='4' y='" + Num(h - pad) + "' font-size='11'>" + Num(lo) + "</text>";
  svg += "<text x='" + Num(pad) + "' y='" + Num(h - 10) + "' font-size='11'>step 0</text>";
  svg += "<text x='" + Num(w - pad - 60) + "' y='" + Num(h - 10) + "' font-size='11'>step " +
         std::to_string(loss.size() - 1) + "</text></svg>";
  return svg;
}

std::string GridTable(const AuditReport& r) {
  std::map<std::pair<int64_t, int64_t>, bool> checked;  // (L, S) -> passed
  for (const Cell& c : r.cells) checked[{c.block, c.step_block}] = true;
  for (const AuditCheck& c : r.checks)
    if (c.cell && !c.passed) checked[{c.cell->block, c.cell->step_block}] = false;
  std::string t = "<table class='grid'><tr><th>L \\ S</th>";
  for (int64_t s = 0; s < r.layout.step_blocks(); ++s) t += "<th>" + std::to_string(s) + "</th>";
  t += "</tr>";
  for (int64_t l = 0; l < r.layout.blocks; ++l) {
    t += "<tr><th>" + std::to_string(l) + "</th>";
    for (int64_t s = 0; s < r.layout.step_blocks(); ++s) {
      auto it = checked.find({l, s});
      const char* cls = it == checked.end() ? "" : it->second ? " class='pass'" : " class='fail'";
      const char* mark = it == checked.end() ? "" : it->second ? "&#10003;" : "&#10007;";
      t += std::string("<td") + cls + ">" + mark + "</td>";
    }
    t += "</tr>";
  }
  return t + "</table>";
}

}  // namespace

std::string ReportHtml(const AuditReport& r) {
  const nlohmann::json j = ReportJson(r);
  const bool pass = r.passed();
  std::string h = HtmlPageHead("aftune training audit");
  h += std::string("<h1>Training audit: <span class='") + (pass ? "pass" : "fail") + "'>" +
       (pass ? "PASS" : "FAIL") + "</span></h1>";
  h += "<table><tr><th>nonce</th><td><code>" + HtmlEscape(r.nonce_hex) + "</code></td></tr>";
  h += "<tr><th>challenge seed</th><td><code>" + HtmlEscape(r.seed_hex) + "</code></td></tr>";
  h += "<tr><th>commitment</th><td><code>" + HtmlEscape(r.commitment.dump()) + "</code></td></tr>";
  h += "<tr><th>strategy</th><td>" + HtmlEscape(r.strategy) + ", " + std::to_string(r.cells.size()) + " of " +
       std::to_string(r.layout.cells()) + " cells</td></tr>";
  h += "<tr><th>compute</th><td>" + Num(r.compute_fraction) + " of training (layer-steps)</td></tr>";
  h += "<tr><th>miss probability bound</th><td>";
  if (j["miss_probability"].is_null()) {
    h += "none (explicit cells)";
  } else {
    for (const auto& [f, p] : j["miss_probability"].items())
      h += "deviation in " + Num(100 * std::stod(f)) + "% of " + HtmlEscape(j["population"].get<std::string>()) +
           ": &le; " + Num(p.get<double>()) + "<br>";
  }
  h += "</td></tr></table>";
  h += "<h2>Loss curve (as recorded)</h2>" + LossSvg(r.loss_curve);
  h += "<h2>Audit grid</h2><p>rows: layer-blocks L; columns: step-blocks S; &#10003; checked and passed, "
       "&#10007; checked and failed.</p>" +
       GridTable(r);
  h += "<h2>Checks</h2>" + ChecksTableHtml(r.checks);
  return h + "</body></html>\n";
}

std::string ChecksTableHtml(const std::vector<AuditCheck>& checks) {
  std::string h = "<table><tr><th>check</th><th>cell</th><th>result</th><th>message</th><th>evidence</th></tr>";
  for (const AuditCheck& c : checks) {
    h += std::string("<tr class='") + (c.passed ? "pass" : "fail") + "'><td>" + HtmlEscape(c.check) + "</td><td>" +
         (c.cell ? std::to_string(c.cell->block) + "," + std::to_string(c.cell->step_block) : "") + "</td><td>" +
         (c.passed ? "pass" : "fail") + "</td><td>" + HtmlEscape(c.message) + "</td><td><code>" +
         HtmlEscape(c.evidence.dump()) + "</code></td></tr>";
  }
  return h + "</table>";
}

}  // namespace aftune
