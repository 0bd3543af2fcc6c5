// The training commitment: what the provider signs at the end of a run
// (DESIGN.md, "Protocols / Training"; docs/formats.md, "Training
// commitment"). A C2SP signed note (commit/note.h) whose text is exactly
//
//   aftune training commitment v1
//   contract <hex>        SHA-256 of the canonical contract
//   trace <hex>           the trace root (RFC 6962 root over trace.jsonl's lines)
//   records <n>           lines of trace.jsonl
//   steps <n>             optimizer steps run
//   final-state <hex>     state digest of all trainable tensors and their
//                         AdamW moments after the last step (F32 tensors)
//   weights <hex>         state digest of the delivered weights file
//                         (adapter_model.safetensors or model.safetensors)
//                         as stored (protocol/input_digest.h
//                         SafetensorsStateDigest)
//
// (without the comments; each line ends in LF; hex is 64 lowercase digits;
// numbers are decimal without leading zeros, "0" for zero). The parser is
// strict: exactly these lines in this order.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "base/status.h"
#include "commit/key.h"
#include "commit/sha256.h"

namespace aftune {

inline constexpr std::string_view kCommitmentHeader = "aftune training commitment v1";

struct TrainingCommitment {
  Hash contract{};
  Hash trace{};
  uint64_t records = 0;
  uint64_t steps = 0;
  Hash final_state{};
  Hash weights{};
  bool operator==(const TrainingCommitment&) const = default;
};

std::string CommitmentText(const TrainingCommitment& c);
// kCorruption naming the line and field unless `text` is exactly a
// CommitmentText.
Result<TrainingCommitment> ParseCommitmentText(std::string_view text);

// The signed note.
Result<std::string> SignCommitment(const TrainingCommitment& c, const PrivateKey& key);
// Opens the note with the provider's key (OpenNote's errors: kCorruption,
// kMismatch for a bad signature, kNotFound when not signed by `provider`),
// then parses its text.
Result<TrainingCommitment> VerifyCommitment(std::string_view note, const PublicKey& provider);

// Writes SignCommitment(c, key) to `path` atomically.
Status WriteCommitment(const std::string& path, const TrainingCommitment& c, const PrivateKey& key);

}  // namespace aftune
