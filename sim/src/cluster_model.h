// One replication of one cell: the head node's queues, the jobs on their
// nodes, the failures and each case's recovery rule, as SimGrid actors.
#pragma once
#include <vector>

#include "cluster_platform.h"
#include "sim/simulate.h"

namespace ckptsim::sim {

struct ReplicationResult {
  std::vector<double> turnarounds;  // per job, in job order (node-major)
  double makespan_s = 0;            // replication start -> last job done
  int kills = 0;                    // job attempts ended by a failure
  int migrations = 0;               // case V transfers
  int migration_waits = 0;          // migrated jobs that waited for a node (queue, spare)
  double migration_wait_s = 0;      // ... and how long, added up
  long events = 0;                  // story events (replication.h, STORY)
  std::vector<NodeUse> node_use;    // Scenario::record_node_use
};

// Runs replications one after another in the process's engine (each one a
// fresh set of actors and a fresh call to Engine::run(); times are measured
// from the replication's start).
class ClusterModel {
 public:
  ClusterModel(const Scenario& scenario, const ClusterPlatform& platform);
  ReplicationResult run_replication(simgrid::s4u::Engine& engine, int replication) const;

 private:
  const Scenario& scenario_;
  const ClusterPlatform& platform_;
};

}  // namespace ckptsim::sim
