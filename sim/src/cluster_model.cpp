// The model's entry point: one replication (replication.h: its state and its
// story; replication*.cpp: its actors' bodies) run to its end in the engine.
// The log category the story is told in is defined here, once.
#include "cluster_model.h"

#include <simgrid/s4u.hpp>
#include <xbt/log.h>

#include "replication.h"

XBT_LOG_NEW_DEFAULT_CATEGORY(ckptsim, "ckptsim cluster model: jobs, checkpoints, failures");

namespace ckptsim::sim {

ClusterModel::ClusterModel(const Scenario& scenario, const ClusterPlatform& platform)
    : scenario_(scenario), platform_(platform) {}

ReplicationResult ClusterModel::run_replication(simgrid::s4u::Engine& engine, int replication) const {
  detail::Replication rep(scenario_, platform_, replication);
  rep.start(replication);
  engine.run();
  return rep.take_result();
}

}  // namespace ckptsim::sim
