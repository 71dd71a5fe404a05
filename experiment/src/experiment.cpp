// The whole experiment: options checked, the profile (calibrated now unless
// given), the real runs cell by cell, then the simulator on the same scenario.
#include "experiment/experiment.h"

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <iostream>
#include <map>
#include <numeric>
#include <ostream>
#include <set>
#include <thread>

#include "calib/calibrate.h"
#include "calib/fit.h"
#include "calib/probes.h"
#include "calib/report.h"
#include "cells.h"
#include "copy.h"
#include "models/profile.h"
#include "sim/statistics.h"
#include "plan.h"
#include "setup.h"
#include "run.h"
#include "slots.h"
#include "util/progress_bar.h"
#include "util/scratch_dir.h"
#include "util/stop.h"
#include "util/subprocess.h"

namespace fs = std::filesystem;

namespace ckptsim::experiment {
namespace {

std::string mb(double bytes) { return std::to_string(static_cast<long>(std::llround(bytes / 1e6))) + " MB"; }

// The scratch directory, removed on every way out (unless kept): in the
// user's directory, or a fresh one under $TMPDIR or /var/tmp.
util::ScratchDir make_work_dir(const fs::path& given, bool keep) {
  util::ScratchDir dir;
  if (!given.empty()) {
    const fs::path path = given / ("experiment-" + std::to_string(::getpid()));
    make_private_dir(path);
    dir = util::ScratchDir(path);
  } else {
    const std::string templ = util::tmpdir_or("/var/tmp").string() + "/ckptsim-experiment-XXXXXX";
    dir = util::ScratchDir::create(templ);
    if (!dir) throw ExperimentError("cannot create a scratch directory in " + templ);
  }
  if (keep) dir.keep();
  return dir;
}

fs::path self_exe() {
  std::error_code ec;
  fs::path p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path("ckptsim") : p;
}

int slots_at_once_per_slot(const Options& o) {
  const bool v = std::find(o.cases.begin(), o.cases.end(), sim::Case::V) != o.cases.end();
  return v && o.v_placement == sim::VPlacement::Share ? 2 : 1;
}

// Calibrates dump, copy and restore at the experiment's orders (two
// repetitions each), and the compute time at those orders (plus a spread
// below them when there are fewer than the three points the fit needs).
models::Profile calibrate_now(const Options& o, const fs::path& work, util::ProgressBar& progress, bool& interrupted,
                              std::vector<std::string>& warnings) {
  calib::CalibrationOptions c;
  c.sizes = o.orders;
  c.reps = 2;
  c.copy = o.copy == "local" ? "loopback" : "netns";
  c.work_dir = work;
  c.ckptsim_exe = o.ckptsim_exe;
  c.matmul_exe = o.matmul_exe;
  std::set<int> compute(o.orders.begin(), o.orders.end());
  for (int f = 2; compute.size() < 3; ++f) compute.insert(std::max(16, *compute.begin() * (f - 1) / f));
  c.compute_sizes.assign(compute.begin(), compute.end());
  c.disk_probe_bytes = 64ull << 20;
  c.incremental_gaps_s.clear();  // the experiment's jobs take full dumps
  c.forked_dumps = o.dump_mode == sim::DumpMode::Forked;  // ... forked only if its jobs' are
  calib::check_options(c);
  progress.info("calibrating this machine at orders " + [&] {
    std::string s;
    for (int n : o.orders) s += (s.empty() ? "" : ",") + std::to_string(n);
    return s;
  }() + " (use --profile to skip)");
  const calib::CalibrationResult r = calib::run_calibration(c, progress);
  interrupted = r.interrupted;
  for (const auto& w : r.warnings) warnings.push_back("calibration: " + w);
  if (interrupted) return {};
  calib::FittedProfile fitted = calib::build_profile(r, "experiment");
  for (const auto& w : fitted.warnings) warnings.push_back("calibration: " + w);
  if (!o.profile_out.empty()) calib::write_profile(fitted, o.profile_out);
  return fitted.profile;
}

// The job's compute time on this machine as the experiment uses it: `nodes`
// uninterrupted jobs at once, one per slot, under `ckptsim run` like the real
// jobs. Slots share the caches and the memory bus (and, on a busy machine,
// the cores with everyone else), which a job calibrated alone does not see.
// One round: each job's wall time; false when interrupted.
bool one_round(const Options& o, int n, const std::vector<Slot>& slots, const RunTools& tools,
               std::vector<double>& took) {
  using Clock = std::chrono::steady_clock;
  std::vector<pid_t> pids;
  const auto t0 = Clock::now();
  for (int i = 0; i < o.nodes; ++i) {
    const Slot& s = slots[static_cast<size_t>(i)];
    pids.push_back(spawn_pinned({tools.ckptsim_exe.string(), "run", "--no-fork", "--dir", (s.dir / "probe").string(), "--",
                                 tools.matmul_exe.string(), "--n", std::to_string(n), "--out",
                                 (tools.outputs / ("probe-" + std::to_string(i) + ".out")).string()},
                                s.cpu, tools.logs / ("probe-" + std::to_string(n) + "-" + std::to_string(i) + ".log")));
  }
  size_t left = pids.size();
  std::string failed;
  while (left > 0) {
    if (util::stop_requested()) {
      for (pid_t p : pids)
        if (p > 0) kill_group(p), ::waitpid(p, nullptr, 0);
      return false;
    }
    for (pid_t& p : pids) {
      int ws = 0;
      if (p <= 0 || ::waitpid(p, &ws, WNOHANG) != p) continue;
      took.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
      if (const int st = util::shell_status(ws); st != 0)
        failed = "the job of order " + std::to_string(n) + " ended with status " + std::to_string(st) +
                 " though it was not killed, while its compute time was measured";
      p = -1;
      --left;
    }
    ::usleep(2000);
  }
  for (const Slot& s : slots) clean_slot(s);
  if (!failed.empty()) throw RunFailed(failed);
  return true;
}

// The median wall time per order over at least kMinComputeRounds rounds and
// kComputeSeconds of measured runs (at most kMaxComputeRounds): the load of a
// shared machine varies from second to second, and at the smallest orders a
// job lasts a third of a second, where two rounds differed by 6 % from the
// same jobs in the runs that followed. Empty when interrupted.
constexpr int kMinComputeRounds = 3, kMaxComputeRounds = 12;
constexpr double kComputeSeconds = 3.0;
std::vector<double> compute_as_used(const Options& o, const std::vector<Slot>& slots, const RunTools& tools) {
  std::vector<double> medians;
  for (int n : o.orders) {
    std::vector<double> took;
    for (int round = 0; round < kMaxComputeRounds; ++round) {
      if (!one_round(o, n, slots, tools, took)) return {};
      const double per_job = sim::mean(took);
      if (round + 1 >= kMinComputeRounds && per_job * (round + 1) >= kComputeSeconds) break;
    }
    std::sort(took.begin(), took.end());
    const size_t m = took.size() / 2;
    medians.push_back(took.size() % 2 ? took[m] : (took[m - 1] + took[m]) / 2);
  }
  return medians;
}

// The profile's compute curve through the times measured as used: exact
// through three or more orders (a n^3 + b n^2 + c), else the calibrated curve
// scaled by the mean ratio.
void use_compute_as_used(models::Profile& p, const std::vector<int>& orders, const std::vector<double>& seconds) {
  std::set<int> distinct(orders.begin(), orders.end());
  if (distinct.size() >= 3) {
    std::vector<double> x(orders.begin(), orders.end());
    models::Curve c = models::fit_powers(x, seconds, {0, 2, 3}).curve;
    c.x_unit = p.compute_s.x_unit;
    c.y_unit = p.compute_s.y_unit;
    c.why = "fitted to the job's wall time with every slot busy (ckptsim experiment)";
    p.compute_s = c;
    return;
  }
  double ratio = 0;
  for (size_t i = 0; i < orders.size(); ++i) ratio += seconds[i] / p.compute_s(orders[i]);
  ratio /= static_cast<double>(orders.size());
  for (double& k : p.compute_s.coef) k *= ratio;
  p.compute_s.why += " (scaled to the wall time with every slot busy)";
}

}  // namespace

int default_nodes() { return static_cast<int>(usable_cpus().size()); }

void check_options(const Options& o, std::vector<std::string>& warnings) {
  if (o.orders.empty()) throw ExperimentError("no orders to run (--sizes)");
  if (o.nodes < 1) throw ExperimentError("--nodes must be at least 1");
  if (o.jobs_per_node < 1) throw ExperimentError("--jobs-per-node must be at least 1");
  if (o.replications < 1) throw ExperimentError("--replications must be at least 1");
  if (o.cases.empty()) throw ExperimentError("no cases to run (--case)");
  if (!(o.failure_rate >= 0 && o.failure_rate <= 1)) throw ExperimentError("--failure-rate must be within 0 to 1");
  if (!(o.checkpoint_at > 0 && o.checkpoint_at < 1)) throw ExperimentError("--checkpoint-at must be within 0 and 1");
  if (!(o.reboot_s >= 0 && o.reboot_s <= 3600)) throw ExperimentError("--reboot-s must be within 0 to 3600");
  if (!(o.requeue_delay_s >= 0) || !std::isfinite(o.requeue_delay_s))
    throw ExperimentError("the requeue delay must be a finite number of seconds >= 0");
  try {
    sim::check_v_placement(o.v_placement, o.spares);
  } catch (const sim::SimError& e) {
    throw ExperimentError(e.what());
  }
  if (o.copy != "netns" && o.copy != "local") throw ExperimentError("--copy must be netns or local");
  for (int n : o.orders)
    if (n < 16 || n > 100000) throw ExperimentError("order " + std::to_string(n) + " is outside 16 to 100000");
  if (!o.profile.empty()) {
    std::error_code ec;
    if (!fs::is_regular_file(o.profile, ec)) throw ExperimentError("--profile " + o.profile.string() + " is not a file");
  }
  const int slots = o.nodes + o.spares;
  const size_t cpus = usable_cpus().size();
  if (static_cast<size_t>(slots) > cpus)
    warnings.push_back(std::to_string(slots) + " slots on " + std::to_string(cpus) +
                       " CPUs: slots share CPUs, so real jobs slow each other down where the simulator gives each node its own");
  // Every slot's jobs at once (two under share), each with its image passing
  // through the page cache, and one copy in flight.
  const double avail = static_cast<double>(calib::mem_available_bytes());
  for (int n : o.orders) {
    const double need = (slots * slots_at_once_per_slot(o) * 2.0 + 1) * calib::matrices_bytes(n);
    if (avail > 0 && need > avail)
      throw ExperimentError("order " + std::to_string(n) + " does not fit in memory: " + std::to_string(slots) +
                            " slots need about " + mb(need) + " (jobs and their images), MemAvailable is " + mb(avail));
  }
}

namespace {

// The options as run: checked, the programs found.
Options complete_options(const Options& given, std::vector<std::string>& warnings) {
  Options o = given;
  check_options(o, warnings);
  if (o.ckptsim_exe.empty()) o.ckptsim_exe = self_exe();
  if (o.matmul_exe.empty()) o.matmul_exe = o.ckptsim_exe.parent_path() / "ckpt-matmul";
  std::error_code ec;
  if (!fs::is_regular_file(o.matmul_exe, ec)) throw ExperimentError("the job " + o.matmul_exe.string() + " is missing");
  return o;
}

// The profile: loaded, or calibrated now (which needs the copy channel's
// namespace name for its own link, so the channel is dropped meanwhile).
// False if a calibration was interrupted.
bool obtain_profile(const Options& o, const fs::path& work, bool tty, std::ostream& out,
                    std::unique_ptr<CopyChannel>& copy, models::Profile& profile, Result& res) {
  if (!o.profile.empty()) {
    try {
      profile = models::load_profile(o.profile);
    } catch (const std::exception& e) {
      throw ExperimentError(e.what());
    }
    if (const std::string missing = sim::missing_forked_costs(profile, false);
        o.dump_mode == sim::DumpMode::Forked && !missing.empty())
      throw ExperimentError("--dump-mode forked: " + missing + " (" + o.profile.string() +
                            "; leave --profile out to calibrate them now)");
    res.profile_used = o.profile;
    return true;
  }
  bool interrupted = false;
  const fs::path cal = work / "calibration";
  make_private_dir(cal);
  util::ProgressBar calibrating(out, tty, 1);
  copy.reset();
  profile = calibrate_now(o, cal, calibrating, interrupted, res.warnings);
  if (!interrupted && o.dump_mode == sim::DumpMode::Forked && !profile.forked.known())
    throw RunFailed("--dump-mode forked: the calibration measured no forked dump costs (see its warnings; "
                    "two orders at least are needed)");
  res.profile_used = o.profile_out;
  return !interrupted;
}

// Compute as used (all slots busy at once), measured before the real runs,
// replaces the profile's; the rows of what was measured, or null if interrupted.
nlohmann::json measure_compute_as_used(const Options& o, const std::vector<Slot>& slots, const RunTools& tools,
                                       models::Profile& profile, std::ostream& out) {
  out << "experiment: measuring the job's compute time with " << o.nodes << " slot(s) busy at once\n";
  const std::vector<double> as_used = compute_as_used(o, slots, tools);
  if (as_used.empty()) return nullptr;
  nlohmann::json compute = nlohmann::json::array();
  for (size_t i = 0; i < o.orders.size(); ++i) {
    const double alone = profile.compute_s(o.orders[i]);
    compute.push_back({{"order", o.orders[i]}, {"calibrated_s", alone}, {"as_used_s", as_used[i]}});
    char line[160];
    std::snprintf(line, sizeof line, "experiment: order %d: %.3f s with every slot busy, %.3f s as calibrated (x%.2f)\n",
                  o.orders[i], as_used[i], alone, alone > 0 ? as_used[i] / alone : 0.0);
    out << line;
  }
  use_compute_as_used(profile, o.orders, as_used);
  return compute;
}

nlohmann::json describe_parameters(const Options& o, const CopyChannel* copy, const nlohmann::json& compute) {
  nlohmann::json p = {{"nodes", o.nodes},
                      {"spares", o.spares},
                      {"jobs_per_node", o.jobs_per_node},
                      {"orders", o.orders},
                      {"failure_rate", o.failure_rate},
                      {"checkpoint_at", o.checkpoint_at},
                      {"replications", o.replications},
                      {"seed", o.seed},
                      {"reboot_s", o.reboot_s},
                      {"requeue_delay_s", o.requeue_delay_s},
                      {"v_placement", sim::to_string(o.v_placement)},
                      {"dump_mode", std::string(sim::to_string(o.dump_mode)) + " (" + real_jobs_dump_mode(o.dump_mode) +
                                        "; the model likewise)"},
                      {"copy", o.copy},
                      {"cpus", usable_cpus().size()},
                      {"profile", o.profile.empty() ? std::string("calibrated now") : o.profile.string()}};
  if (copy) p["link"] = copy->describe();
  p["compute"] = compute;
  return p;
}

}  // namespace

// Phases: options, slots and tools, the copy channel (tried first, so that a
// missing namespace is one line before anything is measured), the profile,
// compute as used, the scenarios checked, the real runs, the simulator.
Result run_experiment(const Options& given, std::ostream& out) {
  const auto started = std::chrono::steady_clock::now();
  Result res;
  const Options o = complete_options(given, res.warnings);
  util::install_stop_handlers();
  const auto cells = plan_cells(o);
  const bool tty = ::isatty(STDERR_FILENO) && &out == &std::cerr;
  for (const auto& w : res.warnings) out << "experiment: warning: " << w << "\n";

  const util::ScratchDir work = make_work_dir(o.work_dir, o.keep_work_dir);
  const std::vector<Slot> slots = make_slots(o.nodes, o.spares, work.path() / "slots");
  RunTools tools{o.ckptsim_exe, o.matmul_exe, work.path() / "outputs", work.path() / "logs"};
  make_private_dir(tools.outputs);
  make_private_dir(tools.logs);
  const bool copies = std::find(o.cases.begin(), o.cases.end(), sim::Case::V) != o.cases.end();
  std::unique_ptr<CopyChannel> copy;
  if (copies) copy = std::make_unique<CopyChannel>(o.copy, o.ckptsim_exe, slots, work.path());

  models::Profile profile;
  if (!obtain_profile(o, work.path(), tty, out, copy, profile, res)) {
    res.interrupted = true;
    return res;
  }
  if (copies && !copy) copy = std::make_unique<CopyChannel>(o.copy, o.ckptsim_exe, slots, work.path());
  profile.reboot_s = o.reboot_s;
  const nlohmann::json compute = measure_compute_as_used(o, slots, tools, profile, out);
  if (compute.is_null()) {
    res.interrupted = true;
    return res;
  }
  if (copy && copy->nominal_Bps() > 0) profile.link_bandwidth_Bps = copy->nominal_Bps();
  res.parameters = describe_parameters(o, copy.get(), compute);
  check_scenarios(o, profile, cells);

  util::ProgressBar progress(out, tty, static_cast<int>(cells.size()) * o.replications, "experiment");
  const ReplicationRunner on_slots = [&](const ReplicationPlan& plan, const std::function<void(const std::string&)>& status) {
    return run_replication(plan, slots, copy.get(), tools, status);
  };
  RealRuns real = run_for_real(o, cells, on_slots, progress);
  res.interrupted = real.interrupted;
  res.rows = compare_with_simulator(o, profile, real, progress);
  res.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return res;
}

}  // namespace ckptsim::experiment

namespace ckptsim::experiment {

Options completed_options(const Options& given, std::vector<std::string>& warnings) {
  return complete_options(given, warnings);
}

util::ScratchDir work_dir_of(const Options& o) { return make_work_dir(o.work_dir, o.keep_work_dir); }

bool load_or_calibrate(const Options& o, const fs::path& work, std::ostream& out, models::Profile& profile,
                       Result& res) {
  std::unique_ptr<CopyChannel> no_copy;
  const bool tty = ::isatty(STDERR_FILENO) && &out == &std::cerr;
  return obtain_profile(o, work, tty, out, no_copy, profile, res);
}

void fit_compute_as_used(models::Profile& p, const std::vector<int>& orders, const std::vector<double>& seconds) {
  use_compute_as_used(p, orders, seconds);
}

nlohmann::json parameters_of(const Options& o, const nlohmann::json& compute) {
  return describe_parameters(o, nullptr, compute);
}

}  // namespace ckptsim::experiment
