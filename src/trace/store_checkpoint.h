// The resumable checkpoint of a recorded run at a step whose state the
// recorder kept in the tensor store (trace/recorder.h): rather than a second
// copy of the same tensors, RUN/checkpoint.safetensors names the kept block
// states (train/checkpoint.h, SaveCheckpointRef) by their state digests, in
// block order, as comma-separated hex.
#pragma once

#include <string>
#include <vector>

#include "commit/sha256.h"
#include "trace/tensor_store.h"
#include "train/checkpoint.h"

namespace aftune {

std::string StoreStatesRef(const std::vector<Hash>& states);

// Reads a StoreStatesRef back: the union of the named states' tensors, each
// object checked against its digest (TensorStore::GetState). kCorruption
// naming the reference or the object when either is bad; kNotFound when an
// object is missing.
CheckpointTensorLoader StoreStatesLoader(const TensorStore& store);

}  // namespace aftune
