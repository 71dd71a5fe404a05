// `ckptsim simulate`: Simulate the paper's cluster with failures.
#include "commands.h"

namespace ckptsim::cli {

void add_simulate(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("simulate", "Simulate the paper's cluster with failures");
  cmd->callback([&exit_code] {
    exit_code = 1;
    throw Exit(1, "simulate: not implemented yet");
  });
}

}  // namespace ckptsim::cli
