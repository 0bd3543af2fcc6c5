// libFuzzer target: the parsers of the audit HTTP API's answers
// (protocol/audit_api.h) on arbitrary bytes — what the remote auditor
// receives from a provider it does not trust — and the provider's parser of
// lines requests. The first byte picks the parser: 0 commitments, 1 lines
// (the answer to the indices 0..7), 2 block state, 3 boundary, 4 lines
// request.
//
// Beyond "no crash, no sanitizer report": a rejected answer is a
// kCorruption (a rejected request kInvalidArgument) with a message; an
// accepted one encodes again to an answer that parses back the same.
#include <cstdint>
#include <numeric>
#include <string>

#include "protocol/audit_api.h"

namespace {

using aftune::Status;

void CheckRejected(const Status& s, Status::Code code) {
  AFTUNE_CHECK(s.code() == code);
  AFTUNE_CHECK(!s.message().empty());
}

void SameTensors(const std::vector<aftune::Tensor>& a, const std::vector<aftune::Tensor>& b) {
  AFTUNE_CHECK(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) AFTUNE_CHECK(a[i].BitEqual(b[i]));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 5) {
    case 0: {
      auto r = aftune::ParseCommitmentsAnswer(body, "fuzz");
      if (!r.ok()) return CheckRejected(r.status(), Status::Code::kCorruption), 0;
      auto back = aftune::ParseCommitmentsAnswer(aftune::CommitmentsAnswer(*r), "again");
      AFTUNE_CHECK(back.ok() && back->size() == r->size());
      return 0;
    }
    case 1: {
      std::vector<uint64_t> asked(8);
      std::iota(asked.begin(), asked.end(), 0);
      auto r = aftune::ParseLinesAnswer(body, asked, "fuzz");
      if (!r.ok()) return CheckRejected(r.status(), Status::Code::kCorruption), 0;
      auto back = aftune::ParseLinesAnswer(aftune::OpenedLinesJson(*r).dump(), asked, "again");
      AFTUNE_CHECK(back.ok());
      for (size_t i = 0; i < r->size(); ++i)
        AFTUNE_CHECK((*back)[i].text == (*r)[i].text && (*back)[i].proof == (*r)[i].proof);
      return 0;
    }
    case 2: {
      auto r = aftune::ParseStateAnswer(body, "fuzz");
      if (!r.ok()) return CheckRejected(r.status(), Status::Code::kCorruption), 0;
      auto bytes = aftune::StateAnswer(*r);
      AFTUNE_CHECK(bytes.ok());
      auto back = aftune::ParseStateAnswer(*bytes, "again");
      AFTUNE_CHECK(back.ok() && back->size() == r->size());
      for (const auto& [name, t] : *r) AFTUNE_CHECK(back->at(name).BitEqual(t));
      return 0;
    }
    case 3: {
      auto r = aftune::ParseBoundaryAnswer(body, "fuzz");
      if (!r.ok()) return CheckRejected(r.status(), Status::Code::kCorruption), 0;
      auto bytes = aftune::BoundaryAnswer(*r);
      AFTUNE_CHECK(bytes.ok());
      auto back = aftune::ParseBoundaryAnswer(*bytes, "again");
      AFTUNE_CHECK(back.ok());
      SameTensors(*back, *r);
      return 0;
    }
    default: {
      auto r = aftune::ParseLinesRequest(body);
      if (!r.ok()) return CheckRejected(r.status(), Status::Code::kInvalidArgument), 0;
      auto back = aftune::ParseLinesRequest(aftune::LinesRequest(*r));
      AFTUNE_CHECK(back.ok() && *back == *r);
      return 0;
    }
  }
}
