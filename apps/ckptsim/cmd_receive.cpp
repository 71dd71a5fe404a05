// `ckptsim receive`: Receive checkpoint images sent by calibrate (another node).
#include "commands.h"

namespace ckptsim::cli {

void add_receive(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("receive", "Receive checkpoint images sent by calibrate (another node)");
  cmd->callback([&exit_code] {
    exit_code = 1;
    throw Exit(1, "receive: not implemented yet");
  });
}

}  // namespace ckptsim::cli
