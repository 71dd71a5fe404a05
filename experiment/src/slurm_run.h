// One replication of one cell as Slurm batch jobs. The experiment keeps each
// node's queue itself, as the slots do, and hands a node its next job only
// when the node is free: so a requeued job is the only one waiting for its
// node, as in the model (nothing else starts on a node while its killed job
// waits for the scheduler). A doomed job's node is set down at the job's
// drawn time; the case's rule then brings the node back and pins the job.
#pragma once
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "run.h"
#include "sim/simulate.h"

namespace ckptsim::experiment {

struct SlurmRunTools {
  std::filesystem::path ckptsim_exe, matmul_exe;
  std::filesystem::path jobs;     // on the shared directory: one directory per job (script, events, images, output)
  std::filesystem::path outputs;  // case I's bytes per order (the references)
  std::string partition;          // empty: the default
  std::vector<std::string> nodes; // node k of the draws runs on nodes[k]
};

// One requeue the scheduler did, measured from the job's own timestamps.
struct RequeueSample {
  sim::Case c = sim::Case::III;
  double down_to_running_s = 0;  // node set down -> the job's next attempt started
  double queue_wait_s = 0;       // from when its node was usable for it again (back up, or free) -> started
};

// Runs it (checkpoint_after_s of the plan is the `run --interval` of the
// checkpointing cases); every output is compared with case I's bytes. Throws
// RunFailed (after cancelling its jobs and resuming every node it set down)
// when a job ends other than by the failure, or an output differs. Ctrl-C:
// cancels, resumes, returns interrupted.
ReplicationOutcome run_replication_on_slurm(const ReplicationPlan& plan, const SlurmRunTools& tools,
                                            std::vector<RequeueSample>& requeues,
                                            const std::function<void(const std::string&)>& status);

}  // namespace ckptsim::experiment
