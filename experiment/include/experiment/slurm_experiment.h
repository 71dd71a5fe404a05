// `ckptsim experiment --slurm`: the same cells, draws and comparison as
// run_experiment, but every job is a Slurm batch job (`ckptsim run --resume`
// with `--interval`), and every failure is a node the scheduler sees go down
// (scontrol update nodename=X state=down): Slurm requeues the job, which
// starts afresh (III; IIIp: its node stays down for the reboot time), resumes
// on the same node (IV) or, pinned to the next node (ReqNodeList), resumes
// there from the image on the shared directory (V). The scheduler's measured
// queue wait after a requeue becomes the simulated requeue delay.
#pragma once
#include <filesystem>
#include <iosfwd>
#include <string>

#include "experiment/experiment.h"

namespace ckptsim::experiment {

struct SlurmOptions {
  std::string partition;              // empty: the cluster's default partition
  std::filesystem::path shared_dir;   // images and outputs, seen by every node; empty: the work dir
};

// Checks before anything of the experiment is submitted (ExperimentError,
// one line): a controller answers, the partition exists and has the nodes
// asked for (Options::nodes, 0: all of them; two or more for case V), the
// shared directory exists, is writable, and a file a job writes on one node
// is read by a job on another. Then runs it all as run_experiment does.
Result run_slurm_experiment(const Options& opts, const SlurmOptions& slurm, std::ostream& progress);

}  // namespace ckptsim::experiment
