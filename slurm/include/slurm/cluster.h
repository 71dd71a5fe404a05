// Which Slurm cluster ckptsim's Slurm commands talk to, found without the
// user exporting anything, and checked before anything is submitted.
#pragma once
#include <filesystem>
#include <string>

#include "slurm/sweep_array.h"  // SlurmError

namespace ckptsim::slurm {

struct ClusterChoice {
  std::filesystem::path conf;  // the slurm.conf the tools will read
  std::string why;             // "SLURM_CONF", "the system's", or "the local cluster of scripts/slurm-local.sh"
};

// SLURM_CONF when set; else the system's /etc/slurm/slurm.conf when it
// exists; else a cluster scripts/slurm-local.sh started and still runs
// ($CKPTSIM_SLURM_DIR, default /tmp/ckptsim-slurm: its slurm.conf, and a live
// slurmctld by the pid file the script wrote), exported as SLURM_CONF to the
// tools this process runs. Throws SlurmError (one line) when none is found.
// `local_dir` stands in for the script's default directory (tests).
ClusterChoice find_cluster(const std::filesystem::path& local_dir = {});

// "SLURM_CONF=PATH", or "slurm.conf DIR/slurm.conf (the local cluster of scripts/slurm-local.sh)".
std::string describe(const ClusterChoice& c);

// find_cluster, then a controller must answer (`scontrol ping`) and the
// partition, when given, exist. One line each, saying what was tried.
ClusterChoice check_cluster(const std::string& partition);

}  // namespace ckptsim::slurm
