// `ckptsim restart`: Restart a job from a checkpoint image.
#include "commands.h"

namespace ckptsim::cli {

void add_restart(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("restart", "Restart a job from a checkpoint image");
  cmd->callback([&exit_code] {
    exit_code = 1;
    throw Exit(1, "restart: not implemented yet");
  });
}

}  // namespace ckptsim::cli
