#include "cells.h"

#include <algorithm>
#include <cstdio>

#include "sim/statistics.h"

namespace ckptsim::experiment {

sim::Scenario scenario_of(const Options& o, const models::Profile& profile, const Cell& cell) {
  sim::Scenario s;
  s.profile = profile;
  s.nodes = o.nodes;
  s.jobs_per_node = o.jobs_per_node;
  s.order = cell.order;
  s.c = cell.c;
  s.checkpoint_at = o.checkpoint_at;
  s.failures.p = o.failure_rate;
  s.replications = o.replications;
  s.seed = o.seed;
  s.v_placement = o.v_placement;
  s.spares = o.spares;
  // Like for like: the real runs' requeue delay, not the profile's.
  s.requeue_delay_s = o.requeue_delay_s;
  if (const auto it = o.requeue_delay_by_case_s.find(cell.c); it != o.requeue_delay_by_case_s.end())
    s.requeue_delay_s = it->second;
  // Images on a directory every node reads: case V copies nothing.
  if (o.shared_storage_Bps > 0) s.storage = sim::Storage{true, o.shared_storage_Bps, 0};
  // Like for like again: the real jobs' dumps are written as the model's (run.cpp, slurm_run.cpp).
  s.dump_mode = o.dump_mode;
  s.dump_mode_why = real_jobs_dump_mode(o.dump_mode);
  return s;
}

std::string real_jobs_dump_mode(sim::DumpMode m) {
  return m == sim::DumpMode::Forked ? "the real jobs run forked, run's default" : "the real jobs run with --no-fork";
}

void check_scenarios(const Options& o, const models::Profile& profile, const std::vector<Cell>& cells) {
  for (const Cell& cell : cells) {
    if (!cell.shown) continue;
    try {
      sim::validate(scenario_of(o, profile, cell));
    } catch (const sim::SimError& e) {
      throw ExperimentError(std::string("the simulator refuses the scenario: ") + e.what());
    }
  }
}

namespace {

// A replication of a cell: its drawn jobs, and the failure-free times its
// checkpoint and kills are placed in (case I's, or II's for IV and V).
ReplicationPlan plan_replication(const Options& o, const Cell& cell, int r, const RealRuns& real) {
  auto failure_free = [&](sim::Case c) {
    const auto it = real.means.find({cell.order, c});
    return it == real.means.end() ? 0.0 : sim::mean(it->second);
  };
  ReplicationPlan plan;
  plan.cell = cell;
  plan.replication = r;
  plan.jobs = plan_jobs(o, cell, r);
  plan.reboot_s = o.reboot_s;
  plan.placement = o.v_placement;
  plan.dump_mode = o.dump_mode;
  const double t_i = failure_free(sim::Case::I);
  plan.checkpoint_after_s = o.checkpoint_at * t_i;
  plan.failure_free_s = (cell.c == sim::Case::IV || cell.c == sim::Case::V) ? failure_free(sim::Case::II) : t_i;
  return plan;
}

}  // namespace

double periodic_interval_s(const Options& o, const RealRuns& real, int order) {
  const auto it = real.means.find({order, sim::Case::I});
  return it == real.means.end() ? 0.0 : o.checkpoint_at * sim::mean(it->second);
}

RealRuns run_for_real(const Options& o, const std::vector<Cell>& cells, const ReplicationRunner& run_one,
                      util::ProgressBar& progress) {
  RealRuns real;
  for (const Cell& cell : cells) {
    for (int r = 0; r < o.replications; ++r) {
      const ReplicationOutcome rep =
          run_one(plan_replication(o, cell, r, real), [&](const std::string& s) { progress.status(s); });
      if (rep.interrupted) {
        real.interrupted = true;
        return real;
      }
      real.means[{cell.order, cell.c}].push_back(sim::mean(rep.turnarounds));
      auto& t = real.totals[{cell.order, cell.c}];
      t.kills += rep.kills;
      t.migrations += rep.migrations;
      char line[160];
      std::snprintf(line, sizeof line, "order %d case %s replication %d: mean turnaround %.3f s, %d kill(s)",
                    cell.order, sim::to_string(cell.c).c_str(), r + 1, sim::mean(rep.turnarounds), rep.kills);
      progress.step_done(line);
    }
    real.finished.push_back(cell);
  }
  return real;
}

std::vector<Row> compare_with_simulator(const Options& o, const models::Profile& profile, RealRuns& real,
                                        util::ProgressBar& progress) {
  std::vector<sim::Scenario> scenarios;
  std::vector<Cell> shown;
  for (const Cell& cell : real.finished) {
    if (!cell.shown) continue;
    sim::Scenario s = scenario_of(o, profile, cell);
    if (o.periodic_checkpoints && sim::takes_checkpoints(cell.c)) s.interval_s = periodic_interval_s(o, real, cell.order);
    scenarios.push_back(std::move(s));
    shown.push_back(cell);
  }
  std::vector<Row> rows;
  if (scenarios.empty()) return rows;
  progress.status("simulating the same scenario");
  const int workers = static_cast<int>(std::max<size_t>(1, std::min<size_t>(2, usable_cpus().size())));
  const std::vector<sim::CellResult> sims = sim::run_cells(scenarios, workers);
  for (size_t i = 0; i < shown.size(); ++i) {
    Row row;
    row.order = shown[i].order;
    row.c = shown[i].c;
    row.real_replication_means = real.means[{row.order, row.c}];
    row.real_mean_s = sim::mean(row.real_replication_means);
    row.real_ci95_s = sim::ci95_half_width(row.real_replication_means);
    row.real_kills = real.totals[{row.order, row.c}].kills;
    row.real_migrations = real.totals[{row.order, row.c}].migrations;
    row.sim_mean_s = sims[i].mean_turnaround_s;
    row.sim_ci95_s = sims[i].ci95_s;
    row.sim_kills = sims[i].kills;
    row.sim_migrations = sims[i].migrations;
    row.rel_error_pct = row.real_mean_s > 0 ? 100.0 * (row.sim_mean_s - row.real_mean_s) / row.real_mean_s : 0;
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace ckptsim::experiment
