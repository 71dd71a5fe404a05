#include "job_costs.h"

#include <cmath>

namespace ckptsim::sim {
namespace {

double nonneg(double v) { return std::isfinite(v) && v > 0 ? v : 0.0; }

}  // namespace

JobCosts job_costs(const Scenario& s) {
  const auto& p = s.profile;
  JobCosts c;
  c.work_s = p.job_compute_s(s.order);
  c.image_bytes = nonneg(p.job_image_bytes(s.order));
  const double process_bytes = nonneg(p.job_process_bytes(s.order));
  c.restore_s = nonneg(p.restore_cost_s(process_bytes, c.image_bytes));
  c.copy_setup_s = nonneg(p.copy_s(0));
  if (takes_checkpoints(s.c)) {
    if (s.interval_s > 0) {
      // Every interval of compute, but not at the very end (nothing left to save).
      for (double at = s.interval_s; at < c.work_s * (1 - 1e-12); at += s.interval_s) c.checkpoints.push_back(at);
    } else {
      c.checkpoints.push_back(s.checkpoint_at * c.work_s);
    }
  }
  c.forked = dumps_forked(s);
  c.failure_free_s = c.work_s;
  for (size_t k = 0; k < c.checkpoints.size(); ++k) {
    const double since = c.checkpoints[k] - (k ? c.checkpoints[k - 1] : 0.0);
    c.dump_s.push_back(nonneg(checkpoint_cost_s(s, static_cast<int>(k), since)));
    c.write_s.push_back(nonneg(checkpoint_write_s(s, static_cast<int>(k), since)));
    c.failure_free_s += c.dump_s.back();
  }
  return c;
}

}  // namespace ckptsim::sim
