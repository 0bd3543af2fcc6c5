// The dataset line rule: how a JSONL dataset file is cut into lines. One copy
// serves both the dataset digest (commit/digest.h) and the dataset reader
// (train/dataset.h), so that example i is always the digest's leaf i.
//
// Lines are separated by LF (0x0A). A CR (0x0D) immediately before an LF is
// part of the ending "\r\n" and dropped; every other byte, a lone CR, spaces
// and bytes that are not UTF-8 included, belongs to the line. The text after
// the last LF is the last line (it need not end in LF; a CR at its very end is
// content). A line with no bytes once its ending is dropped is empty and
// skipped; a whitespace-only line is not empty. Line numbers count every line
// from 1, empty ones too, as an editor shows them.
//
// Example: "a\r\n\r\nb\rc\n\nd" has the lines {1, "a"}, {3, "b\rc"}, {5, "d"}.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace aftune {

struct DatasetLine {
  int64_t number = 0;     // 1-based, counting empty lines
  std::string_view text;  // without its ending; never empty
};

// The non-empty lines of `file`, in order. The views point into `file`.
std::vector<DatasetLine> SplitDatasetLines(std::string_view file);

}  // namespace aftune
