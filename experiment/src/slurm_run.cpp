// The replication on Slurm: a poll loop over each node's current job. A job's
// batch script notes every attempt's start (its node) and end with the
// node's clock, so turnarounds, kill times and the scheduler's waits come
// from the jobs themselves, not from how often Slurm is asked.
#include "slurm_run.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <deque>
#include <fstream>
#include <limits>
#include <sstream>
#include <thread>

#include "calib/probes.h"
#include "ckpt/control.h"
#include "experiment/experiment.h"
#include "slots.h"
#include "slurm_cluster.h"
#include "util/stop.h"
#include "util/subprocess.h"

namespace fs = std::filesystem;

namespace ckptsim::experiment {
namespace {

constexpr double kNever = std::numeric_limits<double>::infinity();
constexpr char kDownReason[] = "ckptsim-experiment";

double wall_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// What a job's batch script wrote: one line per attempt start, one per end.
struct Events {
  struct Start {
    double t;
    std::string node;
  };
  std::vector<Start> starts;
  bool ended = false;  // the last line is an end, after the last start
  double end_t = 0;
  int end_status = 0;
};

Events read_events(const fs::path& file) {
  Events e;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::string what;
    double t = 0;
    if (!(words >> what >> t)) continue;  // a line being written
    if (what == "start") {
      std::string node;
      words >> node;
      e.starts.push_back({t, node});
      e.ended = false;
    } else if (what == "end" && !e.starts.empty()) {
      int status = -1;
      if (!(words >> status)) continue;
      e.ended = true;
      e.end_t = t;
      e.end_status = status;
    }
  }
  return e;
}

struct Job {
  int draw = 0;            // index in plan.jobs
  std::string id;          // Slurm job id, once submitted
  fs::path dir;
  int home = 0, node = 0;  // drawn node; node it is pinned to now
  double first_start = -1;
  size_t starts_seen = 0;
  double last_progress = 0;
  bool killed = false, done = false;
  double down_at = 0, ready_at = 0;  // the failure: node set down; node usable for it again
};

struct Node {
  std::deque<int> queue;  // jobs, front first
  int current = -1;       // the job the node is for now (running, or requeued and waiting for it)
  bool down = false;      // set down by us, not yet resumed
  double up_at = -kNever; // IIIp: resumed then
};

class SlurmReplication {
 public:
  SlurmReplication(const ReplicationPlan& plan, const SlurmRunTools& tools, std::vector<RequeueSample>& requeues)
      : plan_(plan), tools_(tools), requeues_(requeues), nodes_(tools.nodes.size()) {
    prefix_ = "o" + std::to_string(plan.cell.order) + "-" + sim::to_string(plan.cell.c) + "-r" +
              std::to_string(plan.replication);
    reference_ = tools.outputs / ("reference-" + std::to_string(plan.cell.order) + ".out");
    outcome_.turnarounds.assign(plan.jobs.size(), 0.0);
    for (size_t i = 0; i < plan.jobs.size(); ++i) {
      Job j;
      j.draw = static_cast<int>(i);
      j.home = j.node = plan.jobs[i].node;
      j.dir = tools.jobs / (prefix_ + "-j" + std::to_string(plan.jobs[i].id));
      jobs_.push_back(j);
      nodes_.at(static_cast<size_t>(j.home)).queue.push_back(static_cast<int>(i));
    }
  }
  // Every way out: nothing of ours left queued or running, no node left down.
  ~SlurmReplication() { release(); }

  ReplicationOutcome run(const std::function<void(const std::string&)>& status) {
    while (done_ < jobs_.size()) {
      if (util::stop_requested()) {
        release();
        outcome_.interrupted = true;
        return outcome_;
      }
      bring_back_rebooted();
      start_free_nodes();
      for (size_t n = 0; n < nodes_.size(); ++n)
        if (nodes_[n].current >= 0) follow(jobs_[static_cast<size_t>(nodes_[n].current)]);
      status(prefix_ + ": " + std::to_string(done_) + "/" + std::to_string(jobs_.size()) + " jobs done (Slurm)");
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return outcome_;
  }

 private:
  const sim::JobFailureDraw& draw(const Job& j) const { return plan_.jobs[static_cast<size_t>(j.draw)]; }
  const std::string& name_of(int node) const { return tools_.nodes[static_cast<size_t>(node)]; }
  std::string job_name(const Job& j) const {
    return "job " + std::to_string(draw(j).id) + " (order " + std::to_string(plan_.cell.order) + ", case " +
           sim::to_string(plan_.cell.c) + ", replication " + std::to_string(plan_.replication + 1) +
           (j.id.empty() ? "" : ", Slurm job " + j.id) + ")";
  }

  void bring_back_rebooted() {
    for (size_t n = 0; n < nodes_.size(); ++n)
      if (nodes_[n].down && wall_now() >= nodes_[n].up_at) resume(static_cast<int>(n));
  }

  void start_free_nodes() {
    for (size_t n = 0; n < nodes_.size(); ++n) {
      Node& node = nodes_[n];
      if (node.current >= 0 || node.down || node.queue.empty()) continue;
      Job& j = jobs_[static_cast<size_t>(node.queue.front())];
      node.queue.pop_front();
      node.current = j.draw;
      if (j.id.empty()) {
        submit(j, static_cast<int>(n));
      } else {
        // Migrated here (case V): already requeued and pinned to this node,
        // it may run once the node's previous job is gone.
        j.ready_at = std::max(j.ready_at, wall_now());
      }
    }
  }

  void submit(Job& j, int node) {
    make_private_dir(j.dir);
    const fs::path script = j.dir / "job.sh";
    {
      std::ofstream s(script);
      const std::string d = shell_quoted(j.dir.string());
      s << "#!/bin/sh\n"
        << "# " << job_name(j) << ": written by ckptsim experiment --slurm\n"
        << "d=" << d << "\n"
        << "echo \"start $(date +%s.%N) ${SLURMD_NODENAME:-unknown}\" >> \"$d/events\"\n"
        << shell_quoted(tools_.ckptsim_exe.string()) << " run --resume --no-fork --dir \"$d/img\"";
      if (sim::takes_checkpoints(plan_.cell.c) && plan_.checkpoint_after_s > 0) {
        char interval[32];
        std::snprintf(interval, sizeof interval, "%.4f", std::max(plan_.checkpoint_after_s, ckpt::kMinIntervalS));
        s << " --interval " << interval;
      }
      s << " -- " << shell_quoted(tools_.matmul_exe.string()) << " --n " << plan_.cell.order
        << " --out \"$d/out\" 2>> \"$d/run.log\"\n"
        << "status=$?\n"
        << "echo \"end $(date +%s.%N) $status\" >> \"$d/events\"\n"
        << "exit $status\n";
      if (!s) fail("cannot write " + script.string());
    }
    fs::permissions(script, fs::perms::owner_all);
    std::vector<std::string> argv = {"sbatch", "--parsable", "--requeue", "-J", "ckptsim-" + prefix_, "-w",
                                     name_of(node), "-o", (j.dir / "slurm.out").string(), "--open-mode=append"};
    if (!tools_.partition.empty()) argv.insert(argv.end(), {"-p", tools_.partition});
    argv.push_back(script.string());
    try {
      const std::string id = slurm_tool(argv);
      j.id = id.substr(0, id.find(';'));
    } catch (const RunFailed& e) {
      fail("cannot submit " + job_name(j) + ": " + e.what());
    }
    j.last_progress = wall_now();
  }

  void follow(Job& j) {
    const Events e = read_events(j.dir / "events");
    const double now = wall_now();
    if (e.starts.size() > j.starts_seen) {
      const Events::Start& s = e.starts.back();
      if (j.starts_seen == 0) j.first_start = e.starts.front().t;
      if (j.killed && j.starts_seen == 1) {
        requeues_.push_back({plan_.cell.c, s.t - j.down_at, std::max(0.0, s.t - j.ready_at)});
        if (s.node != name_of(j.node))
          fail(job_name(j) + " ran again on " + s.node + ", not on the node it was pinned to (" + name_of(j.node) + ")");
      }
      j.starts_seen = e.starts.size();
      j.last_progress = now;
    }
    // (A killed first attempt may still say it ended, killed; one that
    // completed just before its node went down has finished all the same.)
    const bool raced = j.killed && e.starts.size() == 1 && e.ended && e.end_status == 0;
    if (raced) util::run_command({"scancel", j.id});  // in case Slurm requeued it anyway
    if (e.ended && (!j.killed || e.starts.size() >= 2 || raced)) {
      if (e.end_status != 0)
        fail(job_name(j) + " on " + e.starts.back().node + ": its batch script ended with status " +
             std::to_string(e.end_status) + " though its node was not failed: " + said_last(j.dir / "run.log"));
      return finish(j, e.end_t);
    }
    if (!j.killed && draw(j).doomed && j.first_start > 0 &&
        now >= j.first_start + draw(j).kill_fraction * plan_.failure_free_s)
      return fail_node(j);
    // Silent for long: did Slurm end it without the script saying so?
    const double patience = std::max(60.0, 4 * plan_.failure_free_s);
    if (now - j.last_progress > patience) {
      const std::string state = job_state(j.id);
      if (state != "RUNNING" && state != "PENDING" && state != "CONFIGURING" && state != "REQUEUED" &&
          state != "COMPLETING" && state != "REQUEUE_HOLD")
        fail(job_name(j) + " ended as " + (state.empty() ? "unknown" : state) + " in Slurm: " +
             said_last(j.dir / "run.log"));
      j.last_progress = now - patience + 5;  // ask again in 5 s
    }
  }

  static std::string said_last(const fs::path& log) {
    const std::string last = util::last_line(log);
    return last.empty() ? "(empty log)" : last;
  }

  std::string job_state(const std::string& id) const {
    std::string info;
    try {
      info = slurm_tool({"scontrol", "-o", "show", "job", id});
    } catch (const RunFailed&) {
      return "";
    }
    const auto at = info.find("JobState=");
    return at == std::string::npos ? "" : info.substr(at + 9, info.find(' ', at) - at - 9);
  }

  // The failure: the job's node goes down, Slurm requeues the job; the
  // case's rule decides when the node returns and where the job goes.
  void fail_node(Job& j) {
    const int home = j.node;
    set_down(home);
    j.down_at = wall_now();
    j.killed = true;
    ++outcome_.kills;
    // Wait for Slurm to take the job off the node (requeued: pending again).
    for (int i = 0; i < 150 && job_state(j.id) == "RUNNING"; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    Node& node = nodes_[static_cast<size_t>(home)];
    if (plan_.cell.c == sim::Case::IIIp) {
      // The local cluster's slurmd answers at once, so Slurm returns a down
      // node to service by itself (ReturnToService): drained, it stays out
      // for the reboot time, and the job pinned to it waits meanwhile.
      try {
        slurm_tool({"scontrol", "update", "nodename=" + name_of(home), "state=drain", std::string("reason=") + kDownReason});
      } catch (const RunFailed& e) {
        if (node_state(home).rfind("drain", 0) != 0 && node_state(home).rfind("down", 0) != 0)
          fail("cannot keep node " + name_of(home) + " out for the reboot time: " + e.what());
      }
      node.up_at = j.down_at + plan_.reboot_s;
      j.ready_at = node.up_at;
      return;
    }
    std::error_code ec;
    const bool has_image = fs::is_directory(j.dir / "img" / image_format::kLatest, ec);
    const int target = plan_.cell.c == sim::Case::V && has_image ? migration_target(home) : home;
    if (target != home && pin(j, home, target)) {
      ++outcome_.migrations;
      j.node = target;
      node.current = -1;  // home goes on with its own queue
      nodes_[static_cast<size_t>(target)].queue.push_front(j.draw);
    }
    resume(home);
    j.ready_at = wall_now();
  }

  // Pins a requeued job to the node it migrates to while it waits (a job
  // still completing may refuse it for a moment). False: the job completed
  // just before its node went down (nothing to migrate; the poll sees it end
  // as the raced case).
  bool pin(const Job& j, int home, int target) {
    for (int attempt = 0;; ++attempt) {
      try {
        slurm_tool({"scontrol", "update", "jobid=" + j.id, "ReqNodeList=" + name_of(target),
                    "ExcNodeList=" + name_of(home)});
        return true;
      } catch (const RunFailed& e) {
        const std::string state = job_state(j.id);
        if (state == "COMPLETED" || std::string(e.what()).find("already finished") != std::string::npos) return false;
        if (attempt == 50) fail("cannot pin " + job_name(j) + " to " + name_of(target) + ": " + e.what());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

  // As the model (queue placement): the next node that is up; none: home.
  int migration_target(int home) const {
    const int n = static_cast<int>(nodes_.size());
    for (int k = 1; k < n; ++k) {
      const int t = (home + k) % n;
      if (!nodes_[static_cast<size_t>(t)].down) return t;
    }
    return home;
  }

  void set_down(int node) {
    try {
      slurm_tool({"scontrol", "update", "nodename=" + name_of(node), "state=down", std::string("reason=") + kDownReason});
    } catch (const RunFailed& e) {
      fail("cannot set node " + name_of(node) + " down: " + e.what());
    }
    nodes_[static_cast<size_t>(node)].down = true;
    nodes_[static_cast<size_t>(node)].up_at = kNever;
  }

  // sinfo's state of a node, lower case ("idle", "down*", "drained"...).
  std::string node_state(int node) const {
    try {
      return slurm_tool({"sinfo", "-h", "-N", "-n", name_of(node), "-o", "%T"});
    } catch (const RunFailed&) {
      return "";
    }
  }

  // Back to service; a node Slurm already returned (its slurmd answered) is
  // refused as "Invalid node state", which is fine.
  void resume(int node) {
    for (int attempt = 0;; ++attempt) {
      try {
        slurm_tool({"scontrol", "update", "nodename=" + name_of(node), "state=resume"});
        break;
      } catch (const RunFailed& e) {
        const std::string state = node_state(node);
        if (state.rfind("down", 0) != 0 && state.rfind("drain", 0) != 0 && !state.empty()) break;
        if (attempt == 50) fail("cannot bring node " + name_of(node) + " back (" + state + "): " + e.what());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    nodes_[static_cast<size_t>(node)].down = false;
  }

  void finish(Job& j, double end_t) {
    const fs::path out = j.dir / "out";
    std::error_code ec;
    if (plan_.cell.c == sim::Case::I && !fs::exists(reference_, ec)) {
      fs::copy_file(out, reference_, ec);
      if (ec) fail("cannot keep case I's output as the reference: " + ec.message());
    } else if (!calib::files_equal(out, reference_)) {
      fail(job_name(j) + " finished but its output differs from case I's bytes (" + out.string() + ")");
    }
    fs::remove_all(j.dir, ec);
    outcome_.turnarounds[static_cast<size_t>(j.draw)] = end_t - j.first_start;
    j.done = true;
    nodes_[static_cast<size_t>(j.node)].current = -1;
    ++done_;
  }

  void release() {
    for (Job& j : jobs_)
      if (!j.id.empty() && !j.done) util::run_command({"scancel", j.id});
    for (size_t n = 0; n < nodes_.size(); ++n)
      if (nodes_[n].down) {
        util::run_command({"scontrol", "update", "nodename=" + name_of(static_cast<int>(n)), "state=resume"});
        nodes_[n].down = false;
      }
    for (Job& j : jobs_) j.done = true, j.id.clear();
  }

  [[noreturn]] void fail(const std::string& why) {
    release();
    throw RunFailed(why);
  }

  const ReplicationPlan& plan_;
  const SlurmRunTools& tools_;
  std::vector<RequeueSample>& requeues_;
  std::vector<Job> jobs_;
  std::vector<Node> nodes_;
  ReplicationOutcome outcome_;
  std::string prefix_;
  fs::path reference_;
  size_t done_ = 0;
};

}  // namespace

ReplicationOutcome run_replication_on_slurm(const ReplicationPlan& plan, const SlurmRunTools& tools,
                                            std::vector<RequeueSample>& requeues,
                                            const std::function<void(const std::string&)>& status) {
  SlurmReplication rep(plan, tools, requeues);
  return rep.run(status);
}

}  // namespace ckptsim::experiment
