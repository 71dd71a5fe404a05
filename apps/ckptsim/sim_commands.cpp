// The entry point of libckptsim-sim.so: the SimGrid-backed subcommands.
#include "commands.h"

extern "C" void ckptsim_add_sim_commands(CLI::App* app, int* exit_code) {
  ckptsim::cli::add_simulate(*app, *exit_code);
  ckptsim::cli::add_sweep(*app, *exit_code);
  ckptsim::cli::add_experiment(*app, *exit_code);
}
