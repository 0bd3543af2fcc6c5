// Where each record sits in trace.jsonl (trace/recorder.h gives the order).
// The order is fixed by the header's three numbers, so a party holding only
// the commitment and the header can name the line of any record and ask for
// it with an inclusion proof, without reading the rest of the trace.
//
//   line 0                        the header
//   lines 1 .. B                  block-states of step 0, block order
//   then for each step s          its step record, followed, when s + 1 is a
//                                 state step, by the B block-states of s + 1
//
// A *state step* is 0, a multiple of B_S, or the total: the steps whose
// start (or, for the total, end) state is committed per layer-block.
// Cell (L, S) of the audit grid covers layer-block L over the steps
// [S·B_S, min((S+1)·B_S, total)); it starts at state step S·B_S and ends at
// the next state step.
#pragma once

#include <cstdint>

namespace aftune {

struct TraceLayout {
  int64_t blocks = 1;           // B, layer-blocks
  int64_t steps_per_block = 1;  // B_S
  int64_t total_steps = 0;

  // ceil(total_steps / B_S): the columns of the audit grid.
  int64_t step_blocks() const { return (total_steps + steps_per_block - 1) / steps_per_block; }
  int64_t cells() const { return blocks * step_blocks(); }
  bool is_state_step(int64_t step) const {
    return step == 0 || step == total_steps || (step > 0 && step < total_steps && step % steps_per_block == 0);
  }
  // The steps of step-block S: [first, end).
  int64_t first_step(int64_t step_block) const { return step_block * steps_per_block; }
  int64_t end_step(int64_t step_block) const {
    const int64_t e = (step_block + 1) * steps_per_block;
    return e < total_steps ? e : total_steps;
  }

  // REQUIRES: 0 <= step < total_steps.
  uint64_t StepLine(int64_t step) const {
    return static_cast<uint64_t>(1 + blocks + step + blocks * (step / steps_per_block));
  }
  // REQUIRES: is_state_step(step), 0 <= block < blocks.
  uint64_t BlockStateLine(int64_t step, int64_t block) const {
    if (step == 0) return static_cast<uint64_t>(1 + block);
    return static_cast<uint64_t>(1 + blocks + step + blocks * ((step - 1) / steps_per_block) + block);
  }
  // Lines of a complete trace. REQUIRES: total_steps >= 1.
  uint64_t records() const { return BlockStateLine(total_steps, blocks - 1) + 1; }
};

}  // namespace aftune
