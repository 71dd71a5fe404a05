// `ckptsim experiment`: the paper's cases run for real on this machine (node
// slots pinned to cores, real jobs, real checkpoints, kills, copies and
// restores), then the simulator on the identical scenario, side by side.
// Phases, one file each: plan (draws + schedule), slots, run, copy, report.
#pragma once
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/simulate.h"

namespace ckptsim::experiment {

// Bad input, found before anything runs: one line, exit 2.
struct ExperimentError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// A real job failed for a reason other than the injected kill, or a copy or a
// restore failed: the run stopped and everything it started was killed.
struct RunFailed : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Options {
  int nodes = 0;                        // node slots; 0: one per core
  int jobs_per_node = 3;
  std::vector<int> orders;              // matrix orders (seconds per job)
  std::vector<sim::Case> cases;         // shown; I always runs (reference output),
                                        // II too when IV or V runs (their failure-free time)
  double failure_rate = 0.46;
  double checkpoint_at = 0.5;
  int replications = 3;
  uint64_t seed = 1;
  double reboot_s = 2;                  // case IIIp's downtime, scaled to the jobs
  // The scheduler's queue wait after a requeue that the real runs include,
  // given to the simulated side in place of the profile's
  // scheduler.requeue_delay_s: none here (the slots' kill loop restarts a
  // killed job at once); a run through a scheduler would measure it.
  double requeue_delay_s = 0;
  // Per case, in place of requeue_delay_s (a run through a scheduler measures
  // each case's own: a node kept out for a reboot is scheduled differently).
  std::map<sim::Case, double> requeue_delay_by_case_s;
  // Slurm runs (slurm_experiment.h): checkpoints by `run --interval` at
  // checkpoint_at of case I's mean run, periodic, and the simulator told the
  // same interval; images on a shared directory, which the simulator sees as
  // shared storage of this bandwidth (0: each node's disk, case V copies).
  bool periodic_checkpoints = false;
  double shared_storage_Bps = 0;
  sim::VPlacement v_placement = sim::kDefaultVPlacement;
  int spares = 0;                       // slots that only receive migrated jobs (spare)
  // How the real jobs' checkpoints are written, and so the model's:
  // in-process (`run --no-fork`), or forked (`run`'s default; the profile
  // needs forked dump costs, measured when it is calibrated now). Slurm runs
  // are in-process only.
  sim::DumpMode dump_mode = sim::DumpMode::InProcess;
  std::filesystem::path profile;        // empty: calibrate now at the experiment's orders
  std::string copy = "netns";           // "netns" (shaped gigabit veth) or "local" (plain file copy)
  std::filesystem::path work_dir;       // scratch (removed); empty: a mkdtemp in $TMPDIR or /var/tmp
  bool keep_work_dir = false;
  std::filesystem::path ckptsim_exe;    // empty: /proc/self/exe
  std::filesystem::path matmul_exe;     // empty: ckpt-matmul next to ckptsim_exe
  std::filesystem::path profile_out;    // where to save the profile calibrated now (empty: not saved)
};

// One (order, case): real runs against the simulator's prediction.
struct Row {
  int order = 0;
  sim::Case c = sim::Case::I;
  std::vector<double> real_replication_means;  // mean job turnaround per replication
  double real_mean_s = 0, real_ci95_s = 0;
  double sim_mean_s = 0, sim_ci95_s = 0;
  double rel_error_pct = 0;                    // (sim - real) / real
  long real_kills = 0, real_migrations = 0;    // over all replications
  long sim_kills = 0, sim_migrations = 0;
};

// What a batch scheduler added to the failures it saw (experiment --slurm):
// per requeued job, from its node set down to its next attempt running, and
// the part of that which was the scheduler's own wait (after the node, or the
// node it moved to, was free for it again) -- the simulated requeue delay.
struct SchedulerCosts {
  long requeues = 0;
  double down_to_running_mean_s = 0, down_to_running_ci95_s = 0;
  double queue_wait_mean_s = 0, queue_wait_ci95_s = 0;
  std::map<sim::Case, double> queue_wait_mean_by_case_s;  // what each case's simulation is given
};

struct Result {
  std::vector<Row> rows;
  std::optional<SchedulerCosts> scheduler;  // runs through a scheduler only                // cases shown, per order; only finished cells
  std::vector<std::string> warnings;
  nlohmann::json parameters;            // what ran (for the JSON and the title)
  std::filesystem::path profile_used;   // the file, or "" when calibrated in memory
  bool interrupted = false;
  double elapsed_s = 0;
};

// One slot per CPU this process may run on.
int default_nodes();

// Checks everything that can be checked before a job starts (orders that fit
// in memory, slots against cores, the cases, the copy channel's name, the
// profile file). Throws ExperimentError; adds warnings (more slots than cores).
void check_options(const Options& opts, std::vector<std::string>& warnings);

// Runs it all: calibration (unless a profile is given), the real runs with a
// progress bar on `progress`, the simulator on the same scenario. Ctrl-C
// kills every job started, cleans the slots and returns the finished rows
// (interrupted = true). Throws ExperimentError for bad input and RunFailed
// when a real job fails.
Result run_experiment(const Options& opts, std::ostream& progress);

// Presentation. CSV header exactly:
// order,case,real_mean_s,real_ci95_s,sim_mean_s,sim_ci95_s,rel_error_pct
std::string format_table(const Result& r);
std::string format_csv(const Result& r);
nlohmann::json to_json(const Result& r);
// Real points with error bars over the simulated curves, turnaround against
// the order, one colour per case (PNG or SVG by extension; gnuplot).
void plot(const Result& r, const std::filesystem::path& out);

}  // namespace ckptsim::experiment
