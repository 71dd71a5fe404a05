#include "plan.h"

#include <algorithm>

namespace ckptsim::experiment {

std::vector<Cell> plan_cells(const Options& opts) {
  auto asked = [&](sim::Case c) { return std::find(opts.cases.begin(), opts.cases.end(), c) != opts.cases.end(); };
  const bool needs_ii = asked(sim::Case::II) || asked(sim::Case::IV) || asked(sim::Case::V);
  std::vector<Cell> cells;
  for (int order : opts.orders)
    for (sim::Case c : sim::all_cases()) {
      const bool run = c == sim::Case::I || (c == sim::Case::II && needs_ii) || asked(c);
      if (run) cells.push_back({order, c, asked(c)});
    }
  return cells;
}

std::vector<sim::JobFailureDraw> plan_jobs(const Options& opts, const Cell& cell, int replication) {
  return sim::draw_job_failures(opts.seed, cell.order, replication, opts.nodes, opts.jobs_per_node,
                                opts.failure_rate, sim::has_failures(cell.c));
}

}  // namespace ckptsim::experiment
