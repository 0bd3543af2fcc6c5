// Openings: what a provider reveals of its training when an auditor
// challenges cells of the audit grid (DESIGN.md, "Training audit").
//
// OpeningSource is the one door through which an auditor sees a run. Every
// answer is checkable against the signed commitment: a trace line by its
// inclusion proof under the commitment's trace root, a tensor by the digest a
// proven trace line commits to (a block state by its block-state record's
// state digest, a boundary tensor by its step record's boundary digest). The
// auditor therefore trusts nothing it receives; a source may be the local run
// directory (trace/run_openings.h) or a remote provider.
//
// Naming (as protocol/trace_record.h digests them):
//   block state   the trainable tensors of the layer-block and their AdamW
//                 moments: "<name>", "<name>.exp_avg", "<name>.exp_avg_sq",
//                 each F32; its state digest is the block-state record's.
//   boundary      boundary b (1 <= b < B) is the hidden state [T, C] entering
//                 layer-block b ("activation.b<b>") and its gradient leaving
//                 block b on the backward pass ("gradient.b<b>"); one tensor
//                 per micro-batch of the step, in micro-batch order.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "commit/merkle.h"
#include "model/llama_names.h"
#include "tensor/tensor.h"
#include "protocol/trace_layout.h"
#include "protocol/trace_record.h"

namespace aftune {

// One trace line with its inclusion proof in the tree of all the trace's
// lines (as many as the commitment's "records").
struct OpenedLine {
  uint64_t index = 0;
  std::string text;  // without the LF
  InclusionProof proof;
};

class OpeningSource {
 public:
  virtual ~OpeningSource() = default;

  // The lines at `indices` (any order, repeats allowed), answered in the same
  // order. kNotFound naming the index when the trace has no such line.
  virtual Result<std::vector<OpenedLine>> Lines(std::span<const uint64_t> indices) = 0;

  // The state of layer-block `block` at state step `step`
  // (TraceLayout::is_state_step). kNotFound when out of range.
  virtual Result<TensorMap> BlockState(int64_t step, int64_t block) = 0;

  // The boundary tensors of optimizer step `step` at boundary `boundary`,
  // one per micro-batch. kNotFound when out of range.
  virtual Result<std::vector<Tensor>> Boundary(int64_t step, int64_t boundary, BoundaryKind kind) = 0;
};

// Everything needed to check cell (block, step_block) on its own.
struct CellOpening {
  int64_t block = 0;
  int64_t step_block = 0;
  // The header; block's state record at the cell's start step; the step
  // records of its steps; block's state record at its end step. In that
  // order, with proofs.
  std::vector<OpenedLine> lines;
  TensorMap start_state;
  // [step - first step][micro]: the activations entering the block (empty
  // for block 0) and the gradients arriving from the block above (empty for
  // the last block).
  std::vector<std::vector<Tensor>> inputs;
  std::vector<std::vector<Tensor>> upstream_gradients;
};

// Asks `source` for cell (block, step_block) of a run laid out as `layout`.
// REQUIRES: the cell is inside the grid.
Result<CellOpening> OpenCell(OpeningSource& source, const TraceLayout& layout, int64_t block, int64_t step_block);

// Opened lines as JSON: [{"index":n,"proof":[hex…],"text":"…"}, …], in order
// (docs/formats.md, "Cell openings" and "Audit HTTP API"). The parser is
// strict and checks form only; kCorruption naming `source` and the entry.
nlohmann::json OpenedLinesJson(const std::vector<OpenedLine>& lines);
Result<std::vector<OpenedLine>> ParseOpenedLinesJson(std::string_view text, const std::string& source);

// A cell opening as one file: a safetensors file whose tensors are the start
// state ("state.<name>") and the boundary tensors ("input.s<i>.m<micro>",
// "upstream_gradient.s<i>.m<micro>", i the step's index within the cell) and
// whose metadata holds the cell and its lines with proofs (docs/formats.md,
// "Cell openings"). The reader is strict; it checks form, not digests (the
// auditor checks those against the commitment).
Result<std::string> SerializeCellOpening(const CellOpening& cell);
Status WriteCellOpening(const std::string& path, const CellOpening& cell);
// kCorruption naming `source` and the offending entry.
Result<CellOpening> ParseCellOpening(std::string bytes, const std::string& source);
Result<CellOpening> ReadCellOpening(const std::string& path);

}  // namespace aftune
