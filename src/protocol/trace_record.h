// Records of the training trace (DESIGN.md, "Training trace"; specified with a
// worked example in docs/formats.md, "Training trace"). The trace is a JSONL
// file: each record is one canonical JSON object (protocol/canonical_json.h) on
// one line ending in LF; the trace root is the RFC 6962 Merkle root over the
// lines without their LF, in file order.
//
//   header       {"contract":"<hex>","format":"aftune training trace v1",
//                 "kind":"header","layer_blocks":[[0,2],[2,4]],
//                 "steps":<total>,"steps_per_block":<B_S>}
//   step         {"boundaries":[[{"activation":"<hex>","gradient":"<hex>"}, …
//                                 one per boundary b = 1..B-1], … one per
//                                 micro-batch],
//                 "epoch":e,"grad_norm":{"bits":"<f32 hex>","value":x},
//                 "grad_sumsq":[{"<tensor>":"<f64 hex>",…}, … one per block],
//                 "indices":[…],"kind":"step",
//                 "learning_rate":{…},"loss":{…},"scored_tokens":n,
//                 "step":s,"tokens":n}
//   block-state  {"block":b,"kind":"block-state","layers":[begin,end],
//                 "state":"<hex>","step":s,"tensors":n}
//
// Boundary digests are tensor digests (commit/digest.h) with dtype "F32", the
// tensor's dims and its f32 bytes, named "activation.b<b>" (the hidden state
// [T, C] entering layer-block b) and "gradient.b<b>" (its gradient leaving
// block b on the backward pass). grad_sumsq[k] maps each trainable tensor of
// block k to the bits of SumOfSquares (train/grad_clip.h) of its accumulated,
// unclipped gradient; GlobalGradNorm = NormFromSumsOfSquares over the values
// of all blocks taken together in name order.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "commit/digest.h"
#include "model/decoder.h"
#include "train/trainer.h"

namespace aftune {

inline constexpr std::string_view kTraceFormat = "aftune training trace v1";

// "3f800000": the IEEE-754 bits of an f32, 8 lowercase hex digits.
std::string F32Bits(float v);
// 16 lowercase hex digits.
std::string F64Bits(double v);
// A checked f32 as records carry it: {"bits":"<F32Bits>","value":<number>}.
std::string RecordedF32Json(float v);

// The layer-block holding trainable tensor `name`: the block of its layer
// (LayerOfTensor); embed_tokens (tied or not) in block 0; every other
// tensor without a layer (model.norm, lm_head) in the last block.
// REQUIRES: !blocks.empty().
size_t BlockOfTensor(const std::string& name, const std::vector<LayerSpan>& blocks);

// Tensor digest of an f32 tensor as named above: dtype "F32", its dims, bytes.
Hash F32TensorDigest(const std::string& name, const Tensor& t);

enum class BoundaryKind { kActivation, kGradient };
// "activation.b<b>" or "gradient.b<b>".
std::string BoundaryTensorName(BoundaryKind kind, int64_t boundary);

struct BoundaryDigests {
  Hash activation{};
  Hash gradient{};
};

struct StepRecordData {
  StepReport report;
  // [micro][b - 1] for boundaries b = 1..B-1.
  std::vector<std::vector<BoundaryDigests>> boundaries;
  // [block]: (tensor name, SumOfSquares) in name order.
  std::vector<std::vector<std::pair<std::string, double>>> grad_sumsq;
};

std::string HeaderRecord(const Hash& contract, const std::vector<LayerSpan>& blocks, int64_t total_steps,
                         int64_t steps_per_block);
std::string StepRecord(const StepRecordData& d);
std::string BlockStateRecord(int64_t step, size_t block, LayerSpan layers, const Hash& state, size_t tensors);

// State digests (commit/digest.h) of trainable tensors and their AdamW
// moments ("<name>.exp_avg", "<name>.exp_avg_sq", AdamW::state()), each an
// F32TensorDigest: of the tensors of one block (*count: the tensors
// digested, moments included), or of all of them.
Hash BlockStateDigest(const Trainer& t, size_t block, size_t* count);
Hash FinalStateDigest(const Trainer& t);
// Copies of the tensors BlockStateDigest(t, block) digests, by name.
TensorMap BlockStateTensors(const Trainer& t, size_t block);
// The same tensors, not copied: pointers into `t`, valid while it lives.
std::map<std::string, const Tensor*> BlockStateViews(const Trainer& t, size_t block);

}  // namespace aftune
