// `experiment --slurm`: the checks, the profile, the cells run as Slurm jobs,
// the scheduler's measured costs, then the simulator on the same scenario.
#include "experiment/slurm_experiment.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <ostream>

#include "cells.h"
#include "plan.h"
#include "setup.h"
#include "sim/statistics.h"
#include "slots.h"
#include "slurm_cluster.h"
#include "slurm_run.h"
#include "util/progress_bar.h"
#include "util/stop.h"

namespace fs = std::filesystem;

namespace ckptsim::experiment {
namespace {

bool asked(const Options& o, sim::Case c) { return std::find(o.cases.begin(), o.cases.end(), c) != o.cases.end(); }

// The nodes the jobs run on: the first o.nodes of the partition (0: all).
std::vector<std::string> pick_nodes(const Options& o, const SlurmNodes& found) {
  const int want = o.nodes > 0 ? o.nodes : static_cast<int>(found.names.size());
  const std::string where = "partition " + found.partition + " has " + std::to_string(found.names.size()) + " node(s)";
  if (want > static_cast<int>(found.names.size()))
    throw ExperimentError(where + ", fewer than the " + std::to_string(want) + " asked for (--nodes)");
  if (asked(o, sim::Case::V) && want < 2)
    throw ExperimentError((o.nodes > 0 && found.names.size() >= 2 ? "--nodes 1" : where) +
                          ": case V moves a job to another node and needs at least 2");
  return {found.names.begin(), found.names.begin() + want};
}

SchedulerCosts summarize(const std::vector<RequeueSample>& samples) {
  SchedulerCosts c;
  std::vector<double> down, wait;
  for (const auto& s : samples) down.push_back(s.down_to_running_s), wait.push_back(s.queue_wait_s);
  c.requeues = static_cast<long>(samples.size());
  if (samples.empty()) return c;
  std::map<sim::Case, std::vector<double>> by_case;
  for (const auto& s : samples) by_case[s.c].push_back(s.queue_wait_s);
  for (const auto& [cs, waits] : by_case) c.queue_wait_mean_by_case_s[cs] = sim::mean(waits);
  c.down_to_running_mean_s = sim::mean(down);
  c.queue_wait_mean_s = sim::mean(wait);
  if (samples.size() > 1) {
    c.down_to_running_ci95_s = sim::ci95_half_width(down);
    c.queue_wait_ci95_s = sim::ci95_half_width(wait);
  }
  return c;
}

}  // namespace

Result run_slurm_experiment(const Options& given, const SlurmOptions& slurm, std::ostream& out) {
  const auto started = std::chrono::steady_clock::now();
  Result res;
  if (given.dump_mode != sim::DumpMode::InProcess)
    throw ExperimentError("--dump-mode forked with --slurm: the Slurm jobs run with --no-fork (forked runs are the "
                          "slots' only)");
  Options o = given;
  o.copy = "local";             // a calibration's copy over loopback: case V copies nothing here
  o.spares = 0;
  o.v_placement = sim::VPlacement::Queue;
  o.periodic_checkpoints = true;
  // The node count is the partition's, checked against it below; here one
  // node's jobs against this host's memory (each node runs one at a time).
  const int nodes_asked = o.nodes;
  o.nodes = 1;
  o = completed_options(o, res.warnings);
  o.nodes = nodes_asked;

  const SlurmNodes found = find_partition_nodes(slurm.partition);
  const std::vector<std::string> nodes = pick_nodes(o, found);
  o.nodes = static_cast<int>(nodes.size());

  util::install_stop_handlers();
  const util::ScratchDir work = work_dir_of(o);
  fs::path shared = slurm.shared_dir.empty() ? work.path() : fs::path(slurm.shared_dir);
  if (nodes.size() >= 2) check_shared_dir(shared, found, nodes[0], nodes[1]);
  else if (std::error_code ec; !fs::is_directory(shared, ec))
    throw ExperimentError("--shared-dir " + shared.string() + " is not a directory");
  out << "experiment: Slurm cluster from " << found.cluster << "; partition " << found.partition << ", nodes";
  for (const auto& n : nodes) out << " " << n;
  out << "\n";
  // The jobs' own directory on the shared one, removed with the work dir when it is inside it.
  util::ScratchDir jobs_dir;
  if (slurm.shared_dir.empty()) {
    make_private_dir(work.path() / "jobs");
  } else {
    jobs_dir = util::ScratchDir::create((shared / "ckptsim-experiment-XXXXXX").string());
    if (!jobs_dir) throw ExperimentError("cannot create a directory in --shared-dir " + shared.string());
    if (o.keep_work_dir) jobs_dir.keep();
  }
  SlurmRunTools tools{o.ckptsim_exe, o.matmul_exe, slurm.shared_dir.empty() ? work.path() / "jobs" : jobs_dir.path(),
                      work.path() / "outputs", slurm.partition, nodes};
  make_private_dir(tools.outputs);

  models::Profile profile;
  if (!load_or_calibrate(o, work.path(), out, profile, res)) {
    res.interrupted = true;
    return res;
  }
  profile.reboot_s = o.reboot_s;
  // Images on the shared directory as fast as the disk the profile measured.
  o.shared_storage_Bps = profile.disk_write_Bps > 0 ? profile.disk_write_Bps : 1e9;
  const auto cells = plan_cells(o);
  for (const auto& w : res.warnings) out << "experiment: warning: " << w << "\n";
  check_scenarios(o, profile, cells);

  const bool tty = ::isatty(STDERR_FILENO) && &out == &std::cerr;
  util::ProgressBar progress(out, tty, static_cast<int>(cells.size()) * o.replications, "experiment");
  std::vector<RequeueSample> requeues;
  const ReplicationRunner on_slurm = [&](const ReplicationPlan& plan,
                                         const std::function<void(const std::string&)>& status) {
    return run_replication_on_slurm(plan, tools, requeues, status);
  };
  RealRuns real = run_for_real(o, cells, on_slurm, progress);
  res.interrupted = real.interrupted;

  // Compute as used: case I's jobs on these nodes, through the scheduler.
  std::vector<int> orders;
  std::vector<double> case_i;
  nlohmann::json compute = nlohmann::json::array();
  for (int n : o.orders)
    if (const auto it = real.means.find({n, sim::Case::I}); it != real.means.end()) {
      orders.push_back(n);
      case_i.push_back(sim::mean(it->second));
      compute.push_back({{"order", n}, {"calibrated_s", profile.compute_s(n)}, {"as_used_s", case_i.back()}});
    }
  if (!orders.empty()) fit_compute_as_used(profile, orders, case_i);

  res.scheduler = summarize(requeues);
  // Like for like: the scheduler's measured wait is the simulated requeue delay.
  // Each case gets its own mean (a case with no requeue, the overall one).
  o.requeue_delay_s = res.scheduler->queue_wait_mean_s;
  o.requeue_delay_by_case_s = res.scheduler->queue_wait_mean_by_case_s;
  res.parameters = parameters_of(o, compute);
  res.parameters["copy"] = "none: images on a shared directory";
  res.parameters["slurm"] = {{"cluster", found.cluster},
                             {"partition", found.partition},
                             {"nodes", nodes},
                             {"shared_dir", shared.string()},
                             {"requeues", res.scheduler->requeues},
                             {"down_to_running_mean_s", res.scheduler->down_to_running_mean_s},
                             {"queue_wait_mean_s", res.scheduler->queue_wait_mean_s}};
  for (const auto& [cs, wait] : res.scheduler->queue_wait_mean_by_case_s)
    res.parameters["slurm"]["requeue_delay_by_case_s"][sim::to_string(cs)] = wait;
  res.rows = compare_with_simulator(o, profile, real, progress);
  res.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return res;
}

}  // namespace ckptsim::experiment
