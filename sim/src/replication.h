// The story of one replication, in simulated time:
//  - one queue actor per compute node starts that node's jobs one after the
//    other (round robin submission, one job at a time);
//  - a job attempt (attempt.h) is run by that queue actor, on its node:
//    compute (exec), checkpoint (the dump written to the node's disk),
//    compute...; killing it loses the work since its last complete checkpoint;
//  - a failure is either the attempt's kill time (--failure-rate: each job
//    once, with probability p, uniformly over its failure-free run) or a
//    node-failure actor that kills whatever runs on its node and keeps the
//    node down for the reboot time (--mtbf);
//  - the queue actor then applies the case's rule: restart from scratch (III),
//    after a reboot (IIIp), restore in place (IV), or send the image to
//    another node and restore it there (V, run by a separate migration actor
//    so that the failed node's queue goes on);
//  - with a requeue delay (a scheduler's queue wait after a requeue), a killed
//    job's next attempt starts that much later: on its node once the node is
//    up again (III, IIIp, IV, V restored in place), or before its image moves
//    (V's migration);
//  - a forked dump (Scenario::dump_mode) stops the job only for its fork; the
//    fork writes the image while the job computes on, and the image is the
//    job's restore point only once written: a failure before then restores
//    from the previous one (and kills the fork with the job);
//  - where nothing shares a node and the story is not told, an attempt is
//    told ahead as one wait (attempt_ahead.h), and outside case V a node's
//    run of jobs is one kernel timer with no queue actor (arm_run): the same
//    results with one activity instead of one per step;
//  - case V's placement says where and when: beside the next node's job
//    (share), at the front of the next node's queue (queue), or on a free
//    spare node (spare); NodeSlots keeps queue and spare at one job per node.
//
// Private to the model (cluster_model.cpp runs it): the state of one
// replication, shared by the files that hold its actors' bodies, one job each:
//  - replication.cpp: construction, the start, the node queues, and a node's
//    run of jobs told ahead as one kernel timer (with the carriers that take
//    over a run's killed job);
//  - replication_attempt.cpp: one attempt's steps (restore, compute,
//    checkpoints in process or forked, their image I/O), or the same told
//    ahead as one wait;
//  - replication_recovery.cpp: the node failures, and what follows an
//    attempt: each case's recovery rule, the requeue wait, case V's migration.
#pragma once
#include <algorithm>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <simgrid/s4u.hpp>
#include <xbt/log.h>

#include "attempt.h"
#include "attempt_ahead.h"
#include "cluster_model.h"
#include "huge_pages.h"
#include "job_costs.h"
#include "node_slots.h"

// The model's log category (`--log ckptsim.thres:info` tells the story):
// defined once, in cluster_model.cpp; every file of the replication makes it
// its default (XBT_LOG_EXTERNAL_DEFAULT_CATEGORY).
XBT_LOG_EXTERNAL_CATEGORY(ckptsim);

// One event of the story (a start, checkpoint, restore, kill, failure, move
// or completion): told at info, and counted for the run's cost report.
#define STORY(...)         \
  do {                     \
    ++result_.events;      \
    XBT_INFO(__VA_ARGS__); \
  } while (0)

// Named, not anonymous: the class is shared by the replication's files.
namespace ckptsim::sim::detail {

namespace s4u = simgrid::s4u;

// Packed (72 bytes): one per job where all are kept (Replication::jobs_).
// Its home node and place in that node's queue follow from its id.
struct Job {
  int id = 0;
  bool doomed = false;        // --failure-rate: this job gets killed once
  double start = -1;          // when it first started on its home node
  double kill_fraction = 0;   // ... at this fraction of its failure-free run
  // Its last complete image, a forked one being written, done or not
  // (attempt_ahead.h); a forked image's write as the I/O activity when the
  // disk or file system is shared.
  JobProgress progress;
  simgrid::s4u::ActivityPtr pending_io;
};

// A node's run of jobs told ahead (Replication::arm_run): the first job's
// index, each one's start and the last one's end, and the timer at that end
// (none: no run). The starts are the node's slice of Replication::run_starts_,
// room for all its jobs' and one end: a run's own block and vector, made
// and freed for every node and again after every kill, were a cost per node.
struct NodeRun {
  int first = 0, count = 0;
  double* starts = nullptr;  // count + 1 of them
  simgrid::kernel::timer::Timer* timer = nullptr;
  int jobs() const { return count; }
  bool armed() const { return timer != nullptr; }
};

struct Node {
  s4u::Host* host = nullptr;
  s4u::Disk* disk = nullptr;
  double down_until = -std::numeric_limits<double>::infinity();
  std::vector<Attempt*> running;  // job attempts on this node now
  NodeRun run;                    // or a run of jobs, with no actor
  void forget(const Attempt* a) { running.erase(std::remove(running.begin(), running.end(), a), running.end()); }
};

// All the state of one replication; its methods are the actors' bodies.
class Replication {
 public:
  Replication(const Scenario& s, const ClusterPlatform& platform, int replication);
  void start(int replication);
  ReplicationResult take_result() { return std::move(result_); }

 private:
  // An idle or busy carrier (carry): its wake-up and the work it runs next.
  struct Carrier {
    s4u::SemaphorePtr wake = s4u::Semaphore::create(0);
    std::function<void()> work;
  };

  // replication.cpp: the jobs, the node queues, the runs told ahead. Those
  // inline are called from there only (a run's hot path: armed, ended, and
  // each job done), and inlined there as when the class was one file.
  void make_jobs(int replication);
  void node_queue(int node);
  int run_job(int node, int k);
  inline void node_jobs_from_kernel(int node, int k);
  void node_jobs_from_actor(int node, int k);
  inline void arm_run(int node, int k);
  inline AttemptAhead attempt_in_run(int node, const NodeRun& run, int i) const;
  inline void run_ended(int node);
  inline void job_done_in_run(int node, const NodeRun& run, int i);
  void note_done(const Job& job, int node, double began, double ended);
  inline void note_done(size_t slot, int id, double start, int node, double began, double ended);
  static int fresh_attempt_stories(const JobCosts& costs);
  void kill_run(int node);
  void carry(int node, std::function<void()> work);
  std::string node_name(int node) const;

  // replication_attempt.cpp: one attempt, step by step or told ahead.
  void run_attempt(Attempt& a, Job& job, int node, double from, bool restore);
  void run_attempt_ahead(Attempt& a, Job& job, int node, double from, bool restore);
  bool forked_dump(Attempt& a, Job& job, int node, size_t k, double cp);
  simgrid::s4u::ActivityPtr start_write(int node, double seconds);
  void settle_forked_write(Job& job, bool written);
  static bool write_done(const simgrid::s4u::ActivityPtr& io);
  bool image_io(Attempt& a, int node, double seconds, bool write);
  static bool disk_time(Attempt& a, const s4u::Disk* disk, double seconds, double bps, bool write,
                        bool sole_user);

  // replication_recovery.cpp: failures, and each case's rule after them.
  void supervise(Job& job, int node, double from, bool restore, bool first_attempt);
  bool after_attempt(Job& job, int node, double began, double& from, bool& restore);
  void requeue_wait(const Job& job, int node);
  void migrate(Job& job, int target, double killed_at);
  void note_wait(const Job& job, double waited);
  static constexpr int kSpare = -2;  // migration_target: any spare
  int migration_target(int node) const;
  void node_failures(int count, int replication);
  void fail_node(int node);

  double now() const { return s4u::Engine::get_clock(); }
  size_t job_count() const { return static_cast<size_t>(compute_nodes_) * static_cast<size_t>(s_.jobs_per_node); }
  size_t slot_of(int node, int k) const { return static_cast<size_t>(node) * s_.jobs_per_node + k; }
  size_t slot(const Job& j) const { return slot_of(j.id % compute_nodes_, j.id / compute_nodes_); }
  int id_of(int node, int k) const { return k * compute_nodes_ + node; }
  Job& job_at(int node, int k) {
    if (!live_jobs_only_) return jobs_[slot_of(node, k)];
    const auto [it, made] = live_jobs_.try_emplace(slot_of(node, k));
    if (made) it->second.id = id_of(node, k);
    return it->second;
  }
  bool doomed(int node, int k) const { return !live_jobs_only_ && jobs_[slot_of(node, k)].doomed; }
  // A live job is done (live_jobs_only_): nothing reads it again.
  void forget_job(const Job& j) {
    if (live_jobs_only_) live_jobs_.erase(slot(j));
  }

  void wait_until_up(int node) {
    while (nodes_[node].down_until > now()) s4u::this_actor::sleep_until(nodes_[node].down_until);
  }

  AttemptSite site_of(int node) const {
    return sites_[node];
  }

  const Scenario& s_;
  s4u::Host* head_;
  s4u::Host* storage_;  // the shared file system, or nullptr: each node's disk
  const JobCosts costs_;
  const int fresh_stories_ = fresh_attempt_stories(costs_);
  const double t0_;
  const double requeue_delay_ = requeue_delay_s(s_);  // 0: none
  const int replication_;
  const int compute_nodes_;  // nodes_[0..compute_nodes_) compute, the rest spares
  NodeSlots slots_;
  std::vector<Node> nodes_;
  std::vector<Job, HugePageAllocator<Job>> jobs_;  // node-major: a node's jobs side by side
  // Each node's speed and disk bandwidths, read once: an attempt told ahead
  // (site_of) runs only on the built-in platform, whose speeds never change,
  // and asking the host for it on every attempt of 100,000 nodes was a cache
  // miss or two each. Side by side in one record: three arrays were three
  // cache misses for each run armed, in node order of the runs' ends.
  std::vector<AttemptSite> sites_;
  // One job attempt per node at a time on the built-in platform's disks of
  // constant bandwidth: a node's I/O never overlaps another. Case V's share
  // placement runs two attempts on a node; a platform file may give a disk a
  // bandwidth profile or another sharing policy: those keep the disk model.
  const bool sole_disk_user_ = s_.platform_file.empty() && !(s_.c == Case::V && s_.v_placement == VPlacement::Share);
  // The same holds for the node's CPU; with images on the node's own disk and
  // no story to tell step by step, an attempt is one wait (attempt_ahead.h).
  const bool told_ahead_ = sole_disk_user_ && !storage_ && !XBT_LOG_ISENABLED(ckptsim, xbt_log_priority_info);
  // And where no job comes to a node from another (all but case V), a
  // node's jobs one after the other are one wait until a failure.
  const bool chains_ = told_ahead_ && s_.c != Case::V;
  // With a node's jobs told ahead as runs (chains_) and no job doomed by a
  // per-job failure, only a job killed inside a run is ever looked at again
  // (~12,000 of 1,000,000 at 100,000 x 10): only those get a Job, from their
  // kill to their completion, and jobs_ stays empty. Every Job of 3,000,000
  // made up front was 216 MB at 30,000 x 100, most of the fresh memory the
  // run faulted in, which was ~30 % of its time (perf: folio_zero_user).
  const bool live_jobs_only_ =
      chains_ && !(s_.failures.kind == FailureModel::Kind::PerJob && has_failures(s_.c));
  std::unordered_map<size_t, Job> live_jobs_;  // with live_jobs_only_: by slot
  std::vector<std::unique_ptr<Carrier>> carriers_;  // kill_run's actors,
  std::vector<Carrier*> idle_carriers_;             // those waiting for a job
  std::vector<double, HugePageAllocator<double>> run_starts_;  // with chains_: NodeRun::starts, node by node
  long jobs_left_ = 0;               // with chains_: until all are done,
  simgrid::s4u::SemaphorePtr all_done_;  // which releases this
  ReplicationResult result_;
};

}  // namespace ckptsim::sim::detail
