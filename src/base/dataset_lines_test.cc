// SplitDatasetLines against a reference that spells the rule out byte by
// byte, on the worked example and on every string over the bytes that matter.
#include "base/dataset_lines.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace aftune {
namespace {

using Lines = std::vector<std::pair<int64_t, std::string>>;

Lines Split(std::string_view file) {
  Lines out;
  for (const DatasetLine& l : SplitDatasetLines(file)) out.emplace_back(l.number, std::string(l.text));
  return out;
}

// The rule, one byte at a time: a line ends at an LF; a CR followed by an LF
// is the ending; the rest is content.
Lines Reference(const std::string& file) {
  Lines out;
  std::string line;
  int64_t number = 1;
  for (size_t i = 0; i < file.size(); ++i) {
    if (file[i] == '\n') {
      if (!line.empty()) out.emplace_back(number, line);
      line.clear();
      ++number;
    } else if (!(file[i] == '\r' && i + 1 < file.size() && file[i + 1] == '\n')) {
      line += file[i];
    }
  }
  if (!line.empty()) out.emplace_back(number, line);
  return out;
}

TEST(DatasetLinesTest, WorkedExample) {
  EXPECT_EQ(Split("a\r\n\r\nb\rc\n\nd"), (Lines{{1, "a"}, {3, "b\rc"}, {5, "d"}}));
}

TEST(DatasetLinesTest, EndingsBlankLinesAndOtherBytes) {
  EXPECT_EQ(Split(""), Lines{});
  EXPECT_EQ(Split("\n\r\n\n"), Lines{});
  EXPECT_EQ(Split("x"), (Lines{{1, "x"}}));           // no final newline
  EXPECT_EQ(Split("x\r"), (Lines{{1, "x\r"}}));       // a last CR is content
  EXPECT_EQ(Split("x\r\r\n"), (Lines{{1, "x\r"}}));   // only the CR before LF is the ending
  EXPECT_EQ(Split(" \n\t\n"), (Lines{{1, " "}, {2, "\t"}}));  // whitespace is not empty
  EXPECT_EQ(Split("\xff\xfe\n\xc3\n"), (Lines{{1, "\xff\xfe"}, {2, "\xc3"}}));  // bytes as they are
}

TEST(DatasetLinesTest, AgreesWithTheReferenceOnEveryShortString) {
  const char alphabet[] = {'a', '\r', '\n', '\xff'};
  int checked = 0;
  for (int len = 0; len <= 7; ++len) {
    int64_t count = 1;
    for (int i = 0; i < len; ++i) count *= 4;
    for (int64_t code = 0; code < count; ++code) {
      std::string s;
      for (int64_t c = code, i = 0; i < len; ++i, c /= 4) s += alphabet[c % 4];
      ASSERT_EQ(Split(s), Reference(s)) << "file of " << len << " bytes, code " << code;
      ++checked;
    }
  }
  EXPECT_EQ(checked, 21845);
}

}  // namespace
}  // namespace aftune
