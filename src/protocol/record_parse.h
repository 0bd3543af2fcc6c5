// Reading the records of a training trace (docs/formats.md, "Training
// trace") on the auditor's side. Trace lines come from the provider, so
// every field is checked: a missing key, a wrong type or a malformed hex
// value is kCorruption naming the line index and the key. Nothing here
// decides whether a value is *right*; the audit compares values with what it
// recomputes.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "commit/sha256.h"
#include "protocol/trace_record.h"

namespace aftune {

// A float carried as {"bits":"<hex>","value":x}: the bits are what is checked.
struct RecordedF32 {
  uint32_t bits = 0;
  float value() const;
};

struct ParsedStepRecord {
  int64_t step = 0;
  int64_t epoch = 0;
  std::vector<int64_t> indices;
  RecordedF32 loss, grad_norm, learning_rate;
  int64_t tokens = 0, scored_tokens = 0;
  std::vector<std::vector<BoundaryDigests>> boundaries;  // [micro][b - 1]
  std::vector<std::map<std::string, uint64_t>> grad_sumsq;  // [block]: name -> f64 bits
};

struct ParsedBlockState {
  int64_t step = 0;
  int64_t block = 0;
  LayerSpan layers;
  Hash state{};
  int64_t tensors = 0;
};

struct ParsedTraceHeader {
  Hash contract{};
  std::vector<LayerSpan> layer_blocks;
  int64_t steps = 0;
  int64_t steps_per_block = 0;
};

// `line` names the record in errors ("trace line 7"). Each parser reads the
// line with base/strict_json.h (a repeated key is refused, naming it) and
// refuses a key its record does not have ("unknown key 'x'").
Result<ParsedTraceHeader> ParseTraceHeaderRecord(std::string_view text, uint64_t line);
Result<ParsedStepRecord> ParseStepRecord(std::string_view text, uint64_t line);
Result<ParsedBlockState> ParseBlockStateRecord(std::string_view text, uint64_t line);

}  // namespace aftune
