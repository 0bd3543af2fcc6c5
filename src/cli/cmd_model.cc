#include "cli/commands.h"

namespace aftune::cli {

void RegisterModelCommands(CLI::App& app) {
  auto* model = app.add_subcommand("model", "create and inspect models");
  model->require_subcommand(1);
}

}  // namespace aftune::cli
