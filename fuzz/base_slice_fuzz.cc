// libFuzzer target: the base slice answer's parser (protocol/base_slice.h)
// on arbitrary bytes — what an auditor without the base receives from a
// provider it does not trust.
//
// Beyond "no crash, no sanitizer report": a rejected answer is a
// kCorruption with a message; an accepted one is written again (its tensors
// with their proofs, their bytes read through the views) and parses back to
// the same slice.
#include <cstdint>
#include <cstring>
#include <string>

#include "protocol/base_slice.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace aftune;
  Result<BaseSlice> r = ParseBaseSliceAnswer(std::string(reinterpret_cast<const char*>(data), size), "fuzz");
  if (!r.ok()) {
    AFTUNE_CHECK(r.status().code() == Status::Code::kCorruption && !r.status().message().empty());
    return 0;
  }
  AFTUNE_CHECK(r->proofs.size() == r->tensors.size() && r->tree_size > 0);
  std::vector<SliceTensorInfo> infos;
  std::string bytes;
  for (const auto& [name, view] : r->tensors) {
    const SliceProof& proof = r->proofs.at(name);
    AFTUNE_CHECK(proof.index < r->tree_size);
    infos.push_back({{name, view.dtype, view.shape}, proof});
    bytes.append(static_cast<const char*>(view.data), static_cast<size_t>(view.numel()) * DTypeSize(view.dtype));
  }
  Result<std::string> prefix = BaseSliceAnswerPrefix(infos, r->tree_size);
  AFTUNE_CHECK(prefix.ok());
  Result<BaseSlice> back = ParseBaseSliceAnswer(*prefix + bytes, "again");
  AFTUNE_CHECK(back.ok() && back->tree_size == r->tree_size && back->tensors.size() == r->tensors.size());
  for (const auto& [name, view] : r->tensors) {
    const WeightView& again = back->tensors.at(name);
    const size_t n = static_cast<size_t>(view.numel()) * DTypeSize(view.dtype);
    AFTUNE_CHECK(again.dtype == view.dtype && again.shape == view.shape && std::memcmp(again.data, view.data, n) == 0);
    AFTUNE_CHECK(back->proofs.at(name).index == r->proofs.at(name).index &&
                 back->proofs.at(name).path == r->proofs.at(name).path);
  }
  return 0;
}
