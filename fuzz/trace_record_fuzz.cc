// libFuzzer target: the trace-record parsers (protocol/record_parse.h) on
// arbitrary bytes — the trace lines an auditor receives from a provider it
// does not trust. The first byte picks the parser (header, step,
// block-state); the rest is the line.
//
// Beyond "no crash, no sanitizer report": a rejected line is one
// kCorruption naming the line; an accepted header or block-state record is
// exactly what the provider's writer (protocol/trace_record.h) makes of its
// fields: one text per record.
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
      AFTUNE_CHECK(aftune::HeaderRecord(h->contract, h->layer_blocks, h->steps, h->steps_per_block) == line);
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
      AFTUNE_CHECK(b->block >= 0 && b->tensors >= 0);
      AFTUNE_CHECK(aftune::BlockStateRecord(b->step, static_cast<size_t>(b->block), b->layers, b->state,
                                            static_cast<size_t>(b->tensors)) == line);
      return 0;
    }
  }
}
