// Running Slurm's own tools (sbatch, scontrol, sinfo) from the slurm module.
#pragma once
#include <string>
#include <vector>

namespace ckptsim::slurm {

// Runs a Slurm tool (no shell); its output without trailing newlines, or
// SlurmError with the first line it said.
std::string capture(const std::vector<std::string>& argv);

}  // namespace ckptsim::slurm
