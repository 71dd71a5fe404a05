// `ckptsim sweep --slurm`: the sweep as a Slurm job array (one shard per task,
// `sweep --shard K/N`) plus a merge job (`sweep --merge`) that runs once every
// task succeeded (--dependency=afterok); waits for it and prints its result.
#pragma once
#include <filesystem>
#include <iosfwd>
#include <stdexcept>
#include <string>
#include <vector>

namespace ckptsim::slurm {

struct SlurmError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct SweepArray {
  std::filesystem::path ckptsim;         // the binary every task runs
  std::vector<std::string> sweep_args;   // what defines the points (no --shard, --merge, -o, --plot)
  std::vector<std::string> merge_args;   // what shapes the result (--format, -o, --plot), absolute paths
  int tasks = 4;                         // array tasks = shards
  std::string partition;                 // empty: the cluster's default
  bool wait = true;                      // false: print the job ids and return
  bool print_only = false;               // print the scripts and sbatch commands, submit nothing
};

// Submits (or prints) the array and the merge job; with wait, follows them
// (progress on err from the shard files and scontrol), then copies the merge
// job's output to out. Scripts, shard files and logs go to a new directory
// ./ckptsim-sweep-XXXXXX (removed after a success). Throws SlurmError.
void submit_sweep_array(const SweepArray& s, std::ostream& out, std::ostream& err);

}  // namespace ckptsim::slurm
