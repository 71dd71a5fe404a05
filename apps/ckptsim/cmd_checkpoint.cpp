// `ckptsim checkpoint`: Ask a running job for a checkpoint.
#include "commands.h"

namespace ckptsim::cli {

void add_checkpoint(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("checkpoint", "Ask a running job for a checkpoint");
  cmd->callback([&exit_code] {
    exit_code = 1;
    throw Exit(1, "checkpoint: not implemented yet");
  });
}

}  // namespace ckptsim::cli
