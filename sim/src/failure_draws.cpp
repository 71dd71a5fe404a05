// The per-job failure draws (see sim/failure_draws.h): two uniforms per job
// from its own stream, the first deciding whether it is killed, the second when.
#include "sim/failure_draws.h"

#include "random_streams.h"

namespace ckptsim::sim {

std::vector<JobFailureDraw> draw_job_failures(uint64_t seed, int order, int replication, int nodes,
                                              int jobs_per_node, double failure_rate, bool failures) {
  std::vector<JobFailureDraw> draws;
  draws.reserve(static_cast<size_t>(nodes) * static_cast<size_t>(jobs_per_node));
  for (int node = 0; node < nodes; ++node)
    for (int k = 0; k < jobs_per_node; ++k) {
      RandomStream stream(seed, order, replication, node, k);
      const double u_doomed = stream.uniform(), u_when = stream.uniform();
      JobFailureDraw d;
      d.node = node;
      d.k = k;
      d.id = k * nodes + node;
      d.doomed = failures && u_doomed < failure_rate;
      d.kill_fraction = u_when;
      draws.push_back(d);
    }
  return draws;
}

}  // namespace ckptsim::sim
