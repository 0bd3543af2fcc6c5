// aftune open --run RUN --cell L,S [--out FILE]
//   writes the opening of cell (layer-block L, step-block S) of a recorded
//   run (protocol/opening.h): its trace lines with inclusion proofs, its start
//   state and boundary tensors, regenerating by replay what the run did not
//   keep (trace/run_openings.h).
#include <cstdio>
#include <memory>
#include <string>

#include "base/file.h"
#include "cli/commands.h"
#include "trace/run_openings.h"

namespace aftune::cli {

namespace {

struct OpenArgs {
  std::string run, cell, out;
};

// "L,S" with both decimal and in range.
Result<std::pair<int64_t, int64_t>> ParseCell(const std::string& text, const TraceLayout& layout) {
  long long l = -1, s = -1;
  int used = 0;
  if (std::sscanf(text.c_str(), "%lld,%lld%n", &l, &s, &used) != 2 || used != static_cast<int>(text.size()))
    return Status::InvalidArgument("--cell '" + text + "': expected L,S (layer-block, step-block)");
  if (l < 0 || l >= layout.blocks || s < 0 || s >= layout.step_blocks())
    return Status::InvalidArgument("--cell '" + text + "': the grid has layer-blocks 0.." +
                                   std::to_string(layout.blocks - 1) + " and step-blocks 0.." +
                                   std::to_string(layout.step_blocks() - 1));
  return std::make_pair(static_cast<int64_t>(l), static_cast<int64_t>(s));
}

Status RunOpen(const OpenArgs& a) {
  AFTUNE_ASSIGN_OR_RETURN(std::unique_ptr<RunOpenings> run, RunOpenings::Open(a.run));
  AFTUNE_ASSIGN_OR_RETURN(auto cell, ParseCell(a.cell, run->layout()));
  const std::string out = !a.out.empty() ? a.out
                                         : a.run + "/openings/cell-" + std::to_string(cell.first) + "-" +
                                               std::to_string(cell.second) + ".safetensors";
  AFTUNE_ASSIGN_OR_RETURN(CellOpening opening, OpenCell(*run, run->layout(), cell.first, cell.second));
  if (a.out.empty()) AFTUNE_RETURN_IF_ERROR(MakeDirs(a.run + "/openings"));
  AFTUNE_RETURN_IF_ERROR(WriteCellOpening(out, opening));
  std::printf("cell %lld,%lld: steps %lld..%lld, %zu trace lines, %zu state tensors; replayed %lld steps\nwrote %s\n",
              (long long)cell.first, (long long)cell.second,
              (long long)run->layout().first_step(cell.second), (long long)run->layout().end_step(cell.second) - 1,
              opening.lines.size(), opening.start_state.size(), (long long)run->replayed_steps(), out.c_str());
  return Status::Ok();
}

}  // namespace

void RegisterOpenCommands(CLI::App& app) {
  auto args = std::make_shared<OpenArgs>();
  auto* c = app.add_subcommand("open", "write the opening of one cell of a recorded run's audit grid");
  c->add_option("--run", args->run, "run directory (aftune train --contract … --out RUN)")->required();
  c->add_option("--cell", args->cell, "L,S: layer-block L, step-block S")->required();
  c->add_option("--out", args->out, "opening file (default RUN/openings/cell-L-S.safetensors)");
  AddThreadsOption(c);
  c->callback([args] { Finish(RunOpen(*args)); });
}

}  // namespace aftune::cli
