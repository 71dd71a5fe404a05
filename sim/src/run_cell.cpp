// Running cells: each cell in a forked worker (forked_workers.h) with its own
// SimGrid engine, one engine per process being all SimGrid allows.
#include <malloc.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <sstream>

#include <simgrid/s4u.hpp>

#include "cluster_model.h"
#include "cluster_platform.h"
#include "forked_workers.h"
#include "run_cell.h"
#include "sim/simulate.h"
#include "sim/statistics.h"

namespace ckptsim::sim {
namespace {

namespace s4u = simgrid::s4u;

std::string describe(const Scenario& s) { return "order " + std::to_string(s.order) + " case " + to_string(s.c); }

// Whether the log settings let info (or chattier) lines through: formatting
// them runs on the actors' stacks.
bool tells_story(const std::string& log) {
  for (const char* level : {"info", "verbose", "debug", "trace"})
    if (log.find(level) != std::string::npos) return true;
  return false;
}

std::vector<std::string> engine_arguments(const std::string& log) {
  // Small stacks without guard pages: job actors are shallow, and a run
  // creates hundreds of thousands of them (each stack is zeroed when it is
  // created, which dominates the cost; 16 KiB measured as fast as 32 and
  // half the memory). Telling the story needs more room.
  std::vector<std::string> args = {"ckptsim-simulate",
                                   tells_story(log) ? "--cfg=contexts/stack-size:256" : "--cfg=contexts/stack-size:16",
                                   "--cfg=contexts/guard-size:0", "--log=xbt_cfg.thres:warning"};
  if (log.empty()) {
    args.push_back("--log=root.thres:critical");
  } else {
    args.push_back("--log=root.thres:warning");
    std::istringstream words(log);
    for (std::string w; words >> w;) args.push_back("--log=" + w);
  }
  return args;
}

// This process's CPU time so far (user and system), in seconds.
double cpu_seconds() {
  struct rusage use {};
  ::getrusage(RUSAGE_SELF, &use);
  return static_cast<double>(use.ru_utime.tv_sec + use.ru_stime.tv_sec) +
         static_cast<double>(use.ru_utime.tv_usec + use.ru_stime.tv_usec) / 1e6;
}

// With the story told: what the cell cost this machine, so a user sees how
// the run scales (story events per second, the worker's peak memory per node).
// The CPU time beside the wall time: on a machine shared with other work the
// wall time says more about the others than about the run.
void report_cost(const Scenario& s, long events, std::chrono::steady_clock::duration wall, double cpu) {
  const double seconds = std::chrono::duration<double>(wall).count();
  struct rusage use {};
  ::getrusage(RUSAGE_SELF, &use);
  const double peak_kB = static_cast<double>(use.ru_maxrss);
  std::fprintf(stderr,
               "[simulate] %s: %ld events in %.2f s (%.0f events/s), peak memory %.0f MB (%.1f KB per node), "
               "CPU %.2f s\n",
               describe(s).c_str(), events, seconds, seconds > 0 ? events / seconds : 0.0, peak_kB / 1024,
               peak_kB / (s.nodes + s.spares), cpu);
}

// Every replication of one cell, simulated in this process (a worker: one
// engine per process), as the JSON the parent reads back.
nlohmann::json simulate_replications(const Scenario& s) {
  // Actor stacks come and go by the hundred thousand: keep freed memory in the
  // heap instead of returning it to the kernel and faulting it in again.
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
  mallopt(M_TOP_PAD, 16 << 20);
  auto args = engine_arguments(s.log);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int argc = static_cast<int>(args.size());
  s4u::Engine engine(&argc, argv.data());
  const ClusterPlatform platform = build_platform(
      engine, s.profile, s.nodes, s.spares, s.platform_file,
      s.storage.shared ? SharedStorageLinks{s.storage.total_Bps, s.storage.client_Bps} : SharedStorageLinks{});
  const ClusterModel model(s, platform);
  nlohmann::json reps = nlohmann::json::array(), uses = nlohmann::json::array();
  const auto started = std::chrono::steady_clock::now();
  const double cpu_before = cpu_seconds();
  long events = 0;
  for (int r = 0; r < s.replications; ++r) {
    const ReplicationResult rep = model.run_replication(engine, r);
    events += rep.events;
    for (double t : rep.turnarounds)
      if (!(t > 0)) throw SimError(describe(s) + ": a job never completed in replication " + std::to_string(r));
    reps.push_back({mean(rep.turnarounds), rep.makespan_s, rep.kills, rep.migrations, rep.migration_waits,
                    rep.migration_wait_s});
    for (const NodeUse& u : rep.node_use) uses.push_back({u.replication, u.node, u.job, u.start_s, u.end_s});
  }
  if (!s.log.empty()) report_cost(s, events, std::chrono::steady_clock::now() - started, cpu_seconds() - cpu_before);
  return {{"replications", reps}, {"node_use", uses}};
}

// The parent's side: the replications added up, the statistics taken.
CellResult cell_result(const Scenario& s, const nlohmann::json& v) {
  CellResult r;
  r.order = s.order;
  r.c = s.c;
  r.interval_s = s.interval_s;
  try {
    for (const auto& rep : v.at("replications")) {
      r.replication_means.push_back(rep.at(0).get<double>());
      r.replication_makespans.push_back(rep.at(1).get<double>());
      r.kills += rep.at(2).get<long>();
      r.migrations += rep.at(3).get<long>();
      r.migration_waits += rep.at(4).get<long>();
      r.migration_wait_s += rep.at(5).get<double>();
    }
    for (const auto& u : v.at("node_use"))
      r.node_use.push_back({u.at(0).get<int>(), u.at(1).get<int>(), u.at(2).get<int>(), u.at(3).get<double>(),
                            u.at(4).get<double>()});
  } catch (const nlohmann::json::exception&) {
    throw SimError("simulation of " + describe(s) + ": a garbled result from the worker");
  }
  if (static_cast<int>(r.replication_means.size()) != s.replications)
    throw SimError("simulation of " + describe(s) + ": incomplete result from the worker");
  r.mean_turnaround_s = mean(r.replication_means);
  r.ci95_s = ci95_half_width(r.replication_means);
  r.mean_makespan_s = mean(r.replication_makespans);
  return r;
}

}  // namespace

CellResult simulate_in_this_process(const Scenario& s) { return cell_result(s, simulate_replications(s)); }

void validate(const Scenario& s) {
  auto bad = [](const std::string& what) { throw SimError(what); };
  if (s.nodes < 1) bad("--nodes must be at least 1");
  check_v_placement(s.v_placement, s.spares);
  if (s.jobs_per_node < 1) bad("--jobs-per-node must be at least 1");
  if (s.replications < 1) bad("--replications must be at least 1");
  if (s.order < 1) bad("matrix order must be positive");
  if (!(s.interval_s >= 0) || !std::isfinite(s.interval_s)) bad("--interval must be a non-negative number of seconds");
  if (s.interval_s == 0 && !(s.checkpoint_at > 0 && s.checkpoint_at < 1))
    bad("--checkpoint-at must be a fraction strictly between 0 and 1");
  const auto& f = s.failures;
  if (f.kind == FailureModel::Kind::PerJob && !(f.p >= 0 && f.p <= 1))
    bad("--failure-rate must be a probability between 0 and 1");
  if (f.kind == FailureModel::Kind::Node) {
    if (!(f.mtbf_s > 0) || !std::isfinite(f.mtbf_s)) bad("--mtbf must be a positive number of seconds");
    if (!(f.weibull_shape >= kMinWeibullShape && f.weibull_shape <= kMaxWeibullShape))
      bad(std::string("--weibull-shape must be within ") + kWeibullShapeRange);
  }
  const double work = s.profile.job_compute_s(s.order);
  if (!(work > 0) || !std::isfinite(work))
    bad("the profile gives no positive compute time at order " + std::to_string(s.order));
  if (!(s.profile.reboot_s >= 0)) bad("the profile's reboot_s must not be negative");
  if (const double d = requeue_delay_s(s); !(d >= 0) || !std::isfinite(d))
    bad(s.requeue_delay_s ? "--requeue-delay must be a finite number of seconds >= 0"
                          : "the profile's scheduler.requeue_delay_s must be a finite number of seconds >= 0");
  if (!s.platform_file.empty()) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(s.platform_file, ec))
      bad("platform " + s.platform_file.string() + ": no such file");
    if (::access(s.platform_file.c_str(), R_OK) != 0) bad("platform " + s.platform_file.string() + ": cannot be read");
  }
}

std::vector<CellResult> run_cells(const std::vector<Scenario>& cells, int workers) {
  for (const auto& s : cells) validate(s);
  if (!cells.empty()) check_event_budget(cells);
  std::vector<CellResult> results(cells.size());
  ForkedTasks t;
  for (std::size_t i = 0; i < cells.size(); ++i) t.tasks.push_back(i);
  t.workers = workers;
  t.work = [&](std::size_t i) { return simulate_replications(cells[i]); };
  t.capture_stderr = [&](std::size_t i) { return cells[i].log.empty(); };
  t.done = [&](std::size_t i, const ForkedReply& reply) {
    if (reply.sent && !reply.ok) throw SimError(reply.error);
    if (!reply.ok || !WIFEXITED(reply.wait_status) || WEXITSTATUS(reply.wait_status) != 0)
      throw SimError("simulation of " + describe(cells[i]) + " " + describe_wait_status(reply.wait_status) +
                     (reply.stderr_tail.empty() ? "" : ": " + reply.stderr_tail));
    results[i] = cell_result(cells[i], reply.value);
  };
  run_forked(t);
  return results;
}

CellResult run_cell(const Scenario& s) { return run_cells({s}, 1).front(); }

namespace {
std::filesystem::path bundled(const std::string& relative) {
  namespace fs = std::filesystem;
  std::vector<fs::path> candidates;
#ifdef CKPTSIM_SOURCE_DIR
  candidates.push_back(fs::path(CKPTSIM_SOURCE_DIR) / relative);
#endif
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    candidates.push_back(exe.parent_path().parent_path() / relative);  // build/ckptsim -> ./data
    candidates.push_back(exe.parent_path() / relative);
  }
  for (const auto& c : candidates)
    if (fs::exists(c, ec)) return c;
  return candidates.empty() ? fs::path(relative) : candidates.front();
}
}  // namespace

std::filesystem::path default_profile_path() { return bundled("data/profiles/paper-p4.json"); }
std::filesystem::path default_platform_path() { return bundled("data/platforms/paper-cluster.xml"); }

}  // namespace ckptsim::sim
