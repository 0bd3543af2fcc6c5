// The directory of a recorded run (aftune train --contract … --out RUN):
//
//   RUN/contract.json            the contract the run executes (canonical)
//   RUN/inputs.json              where its inputs were read from:
//                                {"data":"<path>","model":"<path>"}, absolute
//   RUN/trace.jsonl              the training trace (trace/recorder.h)
//   RUN/store/                   kept and regenerated tensors (trace/tensor_store.h)
//   RUN/checkpoint.safetensors   the resumable checkpoint (train/checkpoint.h)
//   RUN/adapter/ or RUN/model/   the delivered weights
//   RUN/commitment.note          the signed training commitment
//
// inputs.json lets the provider regenerate, by replay, what the store does
// not hold; the inputs are checked against the contract's digests again
// before any replay.
#pragma once

#include <string>

#include "base/status.h"

namespace aftune {

struct RunDir {
  std::string root;
  std::string contract() const { return root + "/contract.json"; }
  std::string inputs() const { return root + "/inputs.json"; }
  std::string trace() const { return root + "/trace.jsonl"; }
  std::string store() const { return root + "/store"; }
  std::string checkpoint() const { return root + "/checkpoint.safetensors"; }
  std::string commitment() const { return root + "/commitment.note"; }
};

struct RunInputs {
  std::string model;  // base model directory
  std::string data;   // JSONL dataset
};

// Writes inputs.json (paths made absolute) atomically.
Status WriteRunInputs(const RunDir& run, const RunInputs& inputs);
// kCorruption naming the file unless it is exactly such an object.
Result<RunInputs> ReadRunInputs(const RunDir& run);

}  // namespace aftune
