// The experiment's two halves over its cells: every cell run for real,
// replication by replication, then the simulator on the identical scenario
// and the rows that set them side by side.
#pragma once
#include <map>
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

// Throws ExperimentError if the simulator refuses a shown cell's scenario:
// checked before any real run, so that the real runs are not thrown away.
void check_scenarios(const Options& o, const models::Profile& profile, const std::vector<Cell>& cells);

struct RealRuns {
  std::map<std::pair<int, sim::Case>, ReplicationOutcome> totals;  // kills and migrations per cell
  std::map<std::pair<int, sim::Case>, std::vector<double>> means;  // mean turnaround per replication
  std::vector<Cell> finished;                                      // every replication done
  bool interrupted = false;
};

RealRuns run_for_real(const Options& o, const std::vector<Cell>& cells, const std::vector<Slot>& slots,
                      const CopyChannel* copy, const RunTools& tools, util::ProgressBar& progress);

// The finished, shown cells simulated (same seed, draws, slots and jobs) and
// set beside their real runs.
std::vector<Row> compare_with_simulator(const Options& o, const models::Profile& profile, RealRuns& real,
                                        util::ProgressBar& progress);

}  // namespace ckptsim::experiment
