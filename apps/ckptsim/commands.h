// One function per subcommand; each lives in its own cmd_*.cpp and registers
// itself on the top-level app. A subcommand reports its result through
// `exit_code`; it reports bad input by throwing (main prints one line, exit 2).
#pragma once
#include <CLI/CLI.hpp>
#include <stdexcept>

namespace ckptsim::cli {

// Thrown by a subcommand to end with a specific exit code after printing `what()`
// as the single error line (an empty what() prints nothing).
struct Exit : std::runtime_error {
  int code;
  Exit(int c, const std::string& msg) : std::runtime_error(msg), code(c) {}
};

void add_run(CLI::App& app, int& exit_code);
void add_checkpoint(CLI::App& app, int& exit_code);
void add_restart(CLI::App& app, int& exit_code);
void add_calibrate(CLI::App& app, int& exit_code);
void add_receive(CLI::App& app, int& exit_code);
void add_simulate(CLI::App& app, int& exit_code);  // in libckptsim-sim.so
void add_sweep(CLI::App& app, int& exit_code);     // in libckptsim-sim.so

// Registers simulate and sweep: loaded from libckptsim-sim.so (next to the
// binary) when `load` is true, else as placeholders that only show in --help.
void add_sim_commands(CLI::App& app, int& exit_code, bool load);

}  // namespace ckptsim::cli
