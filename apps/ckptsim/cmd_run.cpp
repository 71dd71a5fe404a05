// `ckptsim run`: Run a program with the checkpoint library preloaded.
#include "commands.h"

namespace ckptsim::cli {

void add_run(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("run", "Run a program with the checkpoint library preloaded");
  cmd->callback([&exit_code] {
    exit_code = 1;
    throw Exit(1, "run: not implemented yet");
  });
}

}  // namespace ckptsim::cli
