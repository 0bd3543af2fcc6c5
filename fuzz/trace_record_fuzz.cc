// libFuzzer target: the trace-record parsers (protocol/record_parse.h) on
// arbitrary bytes — the trace lines an auditor receives from a provider it
// does not trust. The first byte picks the parser (header, step,
// block-state); the rest is the line.
//
// Beyond "no crash, no sanitizer report": a rejected line is one
// kCorruption naming the line; an accepted block-state or header record,
// written again by the provider's writer (protocol/trace_record.h), parses
// back to the same fields.
#include <cstdint>
#include <string>

#include "protocol/record_parse.h"
#include "protocol/trace_record.h"

namespace {

void CheckRefusal(const aftune::Status& st) {
  AFTUNE_CHECK(st.code() == aftune::Status::Code::kCorruption);
  AFTUNE_CHECK(st.message().rfind("trace line 3", 0) == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string line(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0: {
      auto h = aftune::ParseTraceHeaderRecord(line, 3);
      if (!h.ok()) return CheckRefusal(h.status()), 0;
      auto back = aftune::ParseTraceHeaderRecord(
          aftune::HeaderRecord(h->contract, h->layer_blocks, h->steps, h->steps_per_block), 3);
      AFTUNE_CHECK(back.ok() && back->contract == h->contract && back->steps == h->steps &&
                   back->steps_per_block == h->steps_per_block && back->layer_blocks.size() == h->layer_blocks.size());
      return 0;
    }
    case 1: {
      auto s = aftune::ParseStepRecord(line, 3);
      if (!s.ok()) return CheckRefusal(s.status()), 0;
      AFTUNE_CHECK(s->boundaries.size() <= line.size() && s->indices.size() <= line.size());
      return 0;
    }
    default: {
      auto b = aftune::ParseBlockStateRecord(line, 3);
      if (!b.ok()) return CheckRefusal(b.status()), 0;
      if (b->block < 0 || b->tensors < 0) return 0;  // the writer takes sizes; the audit refuses these later
      auto back = aftune::ParseBlockStateRecord(
          aftune::BlockStateRecord(b->step, static_cast<size_t>(b->block), b->layers, b->state,
                                   static_cast<size_t>(b->tensors)),
          3);
      AFTUNE_CHECK(back.ok() && back->step == b->step && back->block == b->block && back->state == b->state &&
                   back->layers.begin == b->layers.begin && back->layers.end == b->layers.end &&
                   back->tensors == b->tensors);
      return 0;
    }
  }
}
