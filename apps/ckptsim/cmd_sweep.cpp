// `ckptsim sweep`: Search process size and checkpoint interval for the lowest turnaround.
#include "commands.h"

namespace ckptsim::cli {

void add_sweep(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("sweep", "Search process size and checkpoint interval for the lowest turnaround");
  cmd->callback([&exit_code] {
    exit_code = 1;
    throw Exit(1, "sweep: not implemented yet");
  });
}

}  // namespace ckptsim::cli
