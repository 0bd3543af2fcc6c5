#include "base/dataset_lines.h"

namespace aftune {

std::vector<DatasetLine> SplitDatasetLines(std::string_view file) {
  std::vector<DatasetLine> lines;
  int64_t number = 0;
  while (!file.empty()) {
    ++number;
    const size_t nl = file.find('\n');
    std::string_view line = file.substr(0, nl);
    if (nl != std::string_view::npos && !line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!line.empty()) lines.push_back({number, line});
    file.remove_prefix(nl == std::string_view::npos ? file.size() : nl + 1);
  }
  return lines;
}

}  // namespace aftune
