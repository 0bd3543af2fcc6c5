// Resumable training checkpoints: one safetensors file holding the trainable
// tensors (under their own names), the optimizer moments (under
// "<name>.exp_avg" and "<name>.exp_avg_sq") and, in its metadata, the format
// tag, the next step and the training configuration and dataset digest it
// belongs to. Written atomically, so a run killed at any moment finds either
// the previous checkpoint or the new one, and resumes bit for bit.
#pragma once

#include <string>

#include "base/status.h"
#include "train/trainer.h"

namespace aftune {

// `identity` is what a resume must match: the canonical configuration and
// the dataset digest, as the caller builds it.
Status SaveCheckpoint(const std::string& path, const Trainer& trainer, const std::string& identity);

// Restores the trainer from the checkpoint at `path`. NotFound when there is
// none; InvalidArgument naming the difference when it belongs to another
// configuration or dataset; Corruption for a damaged file.
Status ResumeFromCheckpoint(const std::string& path, const std::string& identity, Trainer* trainer);

}  // namespace aftune
