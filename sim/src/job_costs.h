// What one job of a scenario costs, from the profile at its order: the
// compute, when each checkpoint is taken and what it costs, the restore and
// copy, and the failure-free run a kill time is drawn over.
#pragma once
#include <vector>

#include "sim/simulate.h"

namespace ckptsim::sim {

// What one job costs, from the profile at this order.
struct JobCosts {
  double work_s = 0;                 // failure-free compute
  std::vector<double> checkpoints;   // compute done when each checkpoint is taken
  std::vector<double> dump_s;        // ... and what each stops the job (incremental and forked ones less)
  std::vector<double> write_s;       // ... and how long each one's fork then writes (forked; 0: in-process)
  bool forked = false;               // dumps are forked (the scenario's mode and the room check), whatever write_s says
  double restore_s = 0;              // per restore
  double copy_setup_s = 0;           // fixed part of a copy; the bytes go through the network
  double image_bytes = 0;
  double failure_free_s = 0;         // work + all dumps: the run a kill time is drawn over
};

JobCosts job_costs(const Scenario& s);

}  // namespace ckptsim::sim
