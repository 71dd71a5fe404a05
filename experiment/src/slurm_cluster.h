// The Slurm side of `experiment --slurm` before anything runs: which nodes the
// jobs go to, and whether the image directory is one every node sees.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

namespace ckptsim::experiment {

// Runs a Slurm tool (no shell) and returns its output without the trailing
// newline; throws RunFailed with the first line it said.
std::string slurm_tool(const std::vector<std::string>& argv);

// '...' for a POSIX shell.
std::string shell_quoted(const std::string& s);

struct SlurmNodes {
  std::string cluster;             // which slurm.conf, and why (slurm/cluster.h)
  std::string partition;           // as named, or the default partition's name
  std::vector<std::string> names;  // the partition's nodes, in sinfo's order
};

// The cluster (slurm::check_cluster: a controller answers, the partition
// exists) and its partition's nodes. ExperimentError (one line) otherwise.
SlurmNodes find_partition_nodes(const std::string& partition);

// The directory exists and this process can write it; then a job on `a`
// writes a file into it and a job on `b` must read the same bytes (so a
// directory each node has its own copy of is refused). ExperimentError (one
// line) when not; the probe jobs are cancelled on every way out.
void check_shared_dir(const std::filesystem::path& dir, const SlurmNodes& nodes, const std::string& a,
                      const std::string& b);

}  // namespace ckptsim::experiment
