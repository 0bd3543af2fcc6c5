// The audit report as one self-contained HTML page (no scripts, no external
// resources): the verdict and the assurance, the recorded loss curve as an
// inline SVG, the audit grid (layer-blocks x step-blocks) with the checked
// cells marked pass or fail, and every check with its evidence.
#pragma once

#include <string>

#include "audit/audit_report.h"

namespace aftune {

std::string ReportHtml(const AuditReport& r);

}  // namespace aftune
