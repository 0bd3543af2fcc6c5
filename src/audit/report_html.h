// The audit report as one self-contained HTML page (no scripts, no external
// resources): the verdict and the assurance, the recorded loss curve as an
// inline SVG, the audit grid (layer-blocks x step-blocks) with the checked
// cells marked pass or fail, and every check with its evidence.
#pragma once

#include <string>
#include <vector>

#include "audit/audit_report.h"

namespace aftune {

std::string ReportHtml(const AuditReport& r);

// `s` with & < > " escaped, for HTML text and attribute values.
std::string HtmlEscape(const std::string& s);
// "<!doctype html>…<body>": the pages' shared head and style.
std::string HtmlPageHead(const std::string& title);
// Every check as one table row: check, cell, result, message, evidence.
std::string ChecksTableHtml(const std::vector<AuditCheck>& checks);

}  // namespace aftune
