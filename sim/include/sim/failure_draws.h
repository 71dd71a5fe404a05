// Which jobs a per-job failure rate kills, and when: the draws the cluster
// model makes, public so that a real run of the same scenario (ckptsim
// experiment) faces exactly the failures the simulator does.
#pragma once
#include <cstdint>
#include <vector>

namespace ckptsim::sim {

struct JobFailureDraw {
  int node = 0;   // the job's home node (round robin: job id = k * nodes + node)
  int k = 0;      // its place in that node's queue
  int id = 0;     // k * nodes + node
  bool doomed = false;       // killed once (the first attempt), with probability p
  double kill_fraction = 0;  // ... at this fraction of its failure-free run (uniform in (0, 1))
};

// One replication of one order: every job's draw, node-major (node 0's jobs in
// queue order, then node 1's...), from the RandomStream (seed, order,
// replication, node, k). failures = false (cases I and II) never dooms a job
// but draws the same fractions. The cluster model calls this, so the two
// cannot drift apart.
std::vector<JobFailureDraw> draw_job_failures(uint64_t seed, int order, int replication, int nodes,
                                              int jobs_per_node, double failure_rate, bool failures);

}  // namespace ckptsim::sim
