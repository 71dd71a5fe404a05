// The experiment's two halves over its cells: every cell run for real,
// replication by replication, then the simulator on the identical scenario
// and the rows that set them side by side.
#pragma once
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "experiment/experiment.h"
#include "models/profile.h"
#include "plan.h"
#include "run.h"
#include "sim/simulate.h"
#include "slots.h"
#include "util/progress_bar.h"

namespace ckptsim::experiment {

// The simulator's scenario of a cell: the options' cluster, the profile as used.
sim::Scenario scenario_of(const Options& o, const models::Profile& profile, const Cell& cell);
// How the real jobs write their checkpoints, which the model follows (the
// scenario's dump_mode_why, the report's parameters).
std::string real_jobs_dump_mode(sim::DumpMode m);

// Throws ExperimentError if the simulator refuses a shown cell's scenario:
// checked before any real run, so that the real runs are not thrown away.
void check_scenarios(const Options& o, const models::Profile& profile, const std::vector<Cell>& cells);

struct RealRuns {
  std::map<std::pair<int, sim::Case>, ReplicationOutcome> totals;  // kills and migrations per cell
  std::map<std::pair<int, sim::Case>, std::vector<double>> means;  // mean turnaround per replication
  std::vector<Cell> finished;                                      // every replication done
  bool interrupted = false;
};

// Runs one replication of a cell for real: on this machine's slots
// (run_replication) or as Slurm batch jobs (slurm_run.h).
using ReplicationRunner =
    std::function<ReplicationOutcome(const ReplicationPlan&, const std::function<void(const std::string&)>& status)>;

// Every cell, replication by replication, each planned from the cells run
// before it (case I's and II's failure-free times).
RealRuns run_for_real(const Options& o, const std::vector<Cell>& cells, const ReplicationRunner& run_one,
                      util::ProgressBar& progress);

// The interval of `run --interval` that a checkpointing case's jobs use when
// Options::periodic_checkpoints is set: checkpoint_at of case I's mean run.
double periodic_interval_s(const Options& o, const RealRuns& real, int order);

// The finished, shown cells simulated (same seed, draws, slots and jobs) and
// set beside their real runs.
std::vector<Row> compare_with_simulator(const Options& o, const models::Profile& profile, RealRuns& real,
                                        util::ProgressBar& progress);

}  // namespace ckptsim::experiment
