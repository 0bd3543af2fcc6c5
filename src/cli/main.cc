// aftune: the command-line front end. Each subcommand lives in its own file
// (cmd_*.cc) and registers itself here; this file only parses and dispatches.
#include <CLI/CLI.hpp>

#include <cstdio>

#include "cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"aftune: auditable fine-tuning and inference of LLaMA-family models"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "aftune 0.1");
  aftune::cli::RegisterModelCommands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Usage errors exit 2 (--help exits 0).
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  return aftune::cli::ExitCode();
}
