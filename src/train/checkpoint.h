// Resumable training checkpoints: one safetensors file holding the trainable
// tensors (under their own names), the optimizer moments (under
// "<name>.exp_avg" and "<name>.exp_avg_sq") and, in its metadata, the format
// tag, the next step and the training configuration and dataset digest it
// belongs to. Written atomically, so a run killed at any moment finds either
// the previous checkpoint or the new one, and resumes bit for bit.
//
// When the same state is already kept elsewhere (a recorded run's tensor
// store, trace/store_checkpoint.h), the checkpoint names it instead: no
// tensors, and metadata "tensors" holding a reference only the caller reads.
#pragma once

#include <functional>
#include <string>

#include "base/status.h"
#include "train/trainer.h"

namespace aftune {

// `identity` is what a resume must match: the canonical configuration and
// the dataset digest, as the caller builds it.
Status SaveCheckpoint(const std::string& path, const Trainer& trainer, const std::string& identity);
// The same, with the tensors named by `tensors_ref` instead of copied.
Status SaveCheckpointRef(const std::string& path, const Trainer& trainer, const std::string& identity,
                         const std::string& tensors_ref);

// Resolves a checkpoint's tensors_ref to its tensors (by name).
using CheckpointTensorLoader = std::function<Result<TensorMap>(const std::string& tensors_ref)>;

// Restores the trainer from the checkpoint at `path`. NotFound when there is
// none; InvalidArgument naming the difference when it belongs to another
// configuration or dataset; Corruption for a damaged file. A checkpoint
// holding a tensors_ref needs `load`; its errors are returned naming `path`.
Status ResumeFromCheckpoint(const std::string& path, const std::string& identity, Trainer* trainer,
                            const CheckpointTensorLoader& load = {});

}  // namespace aftune
