// `ckptsim calibrate`: Measure dump/copy/restore costs on this machine and fit cost curves.
#include "commands.h"

namespace ckptsim::cli {

void add_calibrate(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("calibrate", "Measure dump/copy/restore costs on this machine and fit cost curves");
  cmd->callback([&exit_code] {
    exit_code = 1;
    throw Exit(1, "calibrate: not implemented yet");
  });
}

}  // namespace ckptsim::cli
