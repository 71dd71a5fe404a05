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
#include "cluster_model.h"
#include "attempt.h"
#include "attempt_ahead.h"
#include "huge_pages.h"
#include "job_costs.h"
#include "node_slots.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <utility>
#include <memory>
#include <queue>
#include <unordered_map>

#include <simgrid/s4u.hpp>
#include <xbt/log.h>

#include "random_streams.h"
#include "sim/failure_draws.h"

XBT_LOG_NEW_DEFAULT_CATEGORY(ckptsim, "ckptsim cluster model: jobs, checkpoints, failures");

// One event of the story (a start, checkpoint, restore, kill, failure, move
// or completion): told at info, and counted for the run's cost report.
#define STORY(...)         \
  do {                     \
    ++result_.events;      \
    XBT_INFO(__VA_ARGS__); \
  } while (0)

namespace ckptsim::sim {
namespace {

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
  Replication(const Scenario& s, const ClusterPlatform& platform, int replication)
      : s_(s),
        head_(platform.head),
        storage_(platform.storage),
        costs_(job_costs(s)),
        t0_(s4u::Engine::get_clock()),
        replication_(replication),
        compute_nodes_(static_cast<int>(platform.nodes.size())),
        slots_(compute_nodes_, static_cast<int>(platform.spares.size())) {
    // Room for all at once: growing them by doubling moved every job and
    // node and faulted in twice their memory (1,000,000 jobs at scale).
    nodes_.reserve(platform.nodes.size() + platform.spares.size());
    for (size_t i = 0; i < platform.nodes.size(); ++i) {
      Node node;
      node.host = platform.nodes[i];
      node.disk = platform.disks[i];
      nodes_.push_back(std::move(node));
    }
    make_jobs(replication);
    result_.turnarounds.assign(job_count(), 0.0);
    for (size_t i = 0; i < platform.spares.size(); ++i) {
      Node spare;
      spare.host = platform.spares[i];
      spare.disk = platform.spare_disks[i];
      nodes_.push_back(std::move(spare));
    }
    sites_.reserve(nodes_.size());
    for (size_t i = 0; i < nodes_.size(); ++i)
      sites_.push_back({static_cast<int>(i), nodes_[i].host->get_speed(), nodes_[i].disk->get_write_bandwidth(),
                        nodes_[i].disk->get_read_bandwidth()});
  }

  void start(int replication) {
    // On its node's host: its dumps and restores sleep there, as the attempt
    // actors' did (the head's CPU would hold every node's sleeps).
    if (chains_) {
      // Nodes have no actor while their jobs are told ahead (a stack each was
      // most of a 100,000-node run); one waits for all jobs, so that the
      // failures (a daemon) go on until the last job is done.
      jobs_left_ = static_cast<long>(job_count());
      all_done_ = s4u::Semaphore::create(0);
      run_starts_.resize(static_cast<size_t>(compute_nodes_) * (s_.jobs_per_node + 1));
      s4u::Actor::create("jobs", head_, [this] { all_done_->acquire(); });
      for (int node = 0; node < compute_nodes_; ++node) node_jobs_from_kernel(node, 0);
    } else {
      for (int node = 0; node < compute_nodes_; ++node)
        s4u::Actor::create("queue-" + std::to_string(node + 1), nodes_[node].host, [this, node] { node_queue(node); });
    }
    // Case V's spares fail like the other nodes (their own streams, past the
    // compute nodes'); in other cases nothing runs on them.
    const int n = s_.c == Case::V ? static_cast<int>(nodes_.size()) : compute_nodes_;
    if (s_.failures.kind == FailureModel::Kind::Node && has_failures(s_.c))
      s4u::Actor::create("failures", head_, [this, n, replication] { node_failures(n, replication); })->daemonize();
  }

  ReplicationResult take_result() { return std::move(result_); }

 private:
  // Every job, node-major. Only per-job failures read a job's draw (its
  // doom and kill time); without them no job is doomed, and drawing two
  // uniforms for each of 3,000,000 jobs (a stream made for each, and a
  // vector of draws faulted in and freed) was an eighth of case IV's cost.
  void make_jobs(int replication) {
    const int n = static_cast<int>(nodes_.size());
    if (live_jobs_only_) return;
    jobs_.resize(static_cast<size_t>(n) * static_cast<size_t>(s_.jobs_per_node));
    if (s_.failures.kind == FailureModel::Kind::PerJob && has_failures(s_.c)) {
      size_t i = 0;
      for (const JobFailureDraw& d : draw_job_failures(s_.seed, s_.order, replication, n, s_.jobs_per_node,
                                                       s_.failures.p, true)) {
        Job& j = jobs_[i++];
        j.doomed = d.doomed;
        j.kill_fraction = d.kill_fraction;
      }
    }
    for (int node = 0; node < n; ++node)
      for (int k = 0; k < s_.jobs_per_node; ++k) {
        job_at(node, k).id = k * n + node;  // round robin: job id k*n+node goes to node `node`
      }
  }

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

  void node_queue(int node) {
    for (int k = 0; k < s_.jobs_per_node;) {
      slots_.take_own(node);
      wait_until_up(node);
      k = run_job(node, k);
      slots_.release(node);
    }
  }

  // The node's job k, from its start to its completion (or its move away).
  int run_job(int node, int k) {
    Job& job = job_at(node, k);
    job.start = now();
    STORY("job %d starts on node %d", job.id, node + 1);
    supervise(job, node, 0.0, false, true);
    return k + 1;
  }

  // The node's jobs from k on, one after the other, told ahead (chains_):
  // from the first without a kill time of its own on, a run of jobs that
  // each start when the one before ends is a kernel timer at the run's end
  // (arm_run), with no actor. A job with a kill time, or one a failure kills
  // inside a run, gets an actor of its own (for the latter, an idle carrier:
  // carry), which goes back to runs after it.
  // From the kernel (the start, a run's timer):
  void node_jobs_from_kernel(int node, int k) {
    if (k >= s_.jobs_per_node) return;
    if (!doomed(node, k)) return arm_run(node, k);
    s4u::Actor::create("queue-" + std::to_string(node + 1), nodes_[node].host,
                       [this, node, k] { node_jobs_from_actor(node, k); });
  }

  // From the node's actor: the jobs with a kill time run here, then a run.
  void node_jobs_from_actor(int node, int k) {
    while (k < s_.jobs_per_node && doomed(node, k)) {
      slots_.take_own(node);
      wait_until_up(node);
      k = run_job(node, k);
      slots_.release(node);
    }
    if (k >= s_.jobs_per_node) return;
    wait_until_up(node);
    simgrid::kernel::actor::simcall_answered([this, node, k] { arm_run(node, k); });
  }

  // A node's run of jobs from k: each one's start, up to the next job with a
  // kill time, and a timer at the last one's end. Only the times are kept
  // (100 jobs' steps kept for each of 10,000 nodes were more than the rest of
  // the run's memory): each attempt is told again from its start when
  // needed, the same arithmetic.
  void arm_run(int node, int k) {
    NodeRun& run = nodes_[node].run;
    run.first = k;
    run.count = 0;
    run.starts = &run_starts_[static_cast<size_t>(node) * (s_.jobs_per_node + 1)];
    run.starts[0] = now();
    for (; k < s_.jobs_per_node && !doomed(node, k); ++k, ++run.count)
      run.starts[run.count + 1] = attempt_in_run(node, run, run.count).end();
    run.timer = simgrid::kernel::timer::Timer::set(run.starts[run.count], [this, node] { run_ended(node); });
  }

  AttemptAhead attempt_in_run(int node, const NodeRun& run, int i) const {
    return AttemptAhead(costs_, JobProgress{}, site_of(node), run.starts[static_cast<size_t>(i)], 0.0, false);
  }

  // From the kernel: every job of the run is done; the node goes on.
  void run_ended(int node) {
    const NodeRun run = std::exchange(nodes_[node].run, NodeRun{});
    for (int i = 0; i < run.jobs(); ++i) job_done_in_run(node, run, i);
    node_jobs_from_kernel(node, run.first + run.jobs());
  }

  // The attempt was told when the run was armed: its start and end are the
  // run's, and its steps' story count is the same for every fresh attempt
  // unless its dumps are forked (whose waits depend on the times), so it is
  // told again only then (at 100,000 nodes, telling each attempt twice was
  // a tenth of case IV's cost). A job done keeps nothing: nothing reads it
  // again, so it needs no Job.
  void job_done_in_run(int node, const NodeRun& run, int i) {
    const int k = run.first + i;
    const double began = run.starts[static_cast<size_t>(i)];
    const int stories = fresh_stories_ >= 0 ? fresh_stories_ : attempt_in_run(node, run, i).stories();
    result_.events += 1 + stories + 1;  // its start, its steps, its "done"
    note_done(slot_of(node, k), id_of(node, k), began, node, began, run.starts[static_cast<size_t>(i) + 1]);
  }

  // A fresh attempt's story count where it does not depend on when the
  // attempt runs (no forked dump); -1 otherwise.
  static int fresh_attempt_stories(const JobCosts& costs) {
    if (costs.forked) return -1;
    return AttemptAhead(costs, JobProgress{}, AttemptSite{0, 1, 1, 1}, 0.0, 0.0, false).stories();
  }

  // From the failures' actor: the node's run stops now; the jobs done by now
  // are done, the one running is killed and goes on in an actor of its own.
  void kill_run(int node) {
    const NodeRun run = std::exchange(nodes_[node].run, NodeRun{});
    simgrid::kernel::actor::simcall_answered([&run] { run.timer->remove(); });
    const double at = now();
    for (int i = 0; i < run.jobs(); ++i) {
      if (run.starts[static_cast<size_t>(i) + 1] <= at) {
        job_done_in_run(node, run, i);
        continue;
      }
      Job& job = job_at(node, run.first + i);
      const AttemptAhead ahead = attempt_in_run(node, run, i);
      job.start = ahead.start();
      result_.events += 1 + ahead.stories_by(at);
      job.progress = ahead.progress_at(at);
      const int next = run.first + i + 1;
      carry(node, [this, &job, node, next, began = ahead.start()] {
        double from = 0;
        bool restore = false;
        if (after_attempt(job, node, began, from, restore)) supervise(job, node, from, restore, false);
        forget_job(job);
        node_jobs_from_actor(node, next);
      });
      return;
    }
  }

  // A killed job's node goes on in an actor (kill_run), one that an earlier
  // kill's job left idle when there is one: creating an actor for each of
  // ~12,000 kills at 100,000 nodes (its stack calloc'ed and zeroed, the
  // context made) was a sixth of case IV's cost. A carrier is woken at the
  // same simulated time a new actor would have started, and runs the same
  // code; it may sit on another node's host, which only holds its sleeps
  // (the built-in platform's hosts are never turned off). Carriers are
  // daemons: idle ones are killed once the last job is done.
  struct Carrier {
    s4u::SemaphorePtr wake = s4u::Semaphore::create(0);
    std::function<void()> work;
  };

  void carry(int node, std::function<void()> work) {
    if (!idle_carriers_.empty()) {
      Carrier* c = idle_carriers_.back();
      idle_carriers_.pop_back();
      c->work = std::move(work);
      c->wake->release();
      return;
    }
    carriers_.push_back(std::make_unique<Carrier>());
    Carrier* c = carriers_.back().get();
    c->work = std::move(work);
    s4u::Actor::create("queue-" + std::to_string(node + 1), nodes_[node].host, [this, c] {
      for (;;) {
        const std::function<void()> work = std::move(c->work);
        work();
        idle_carriers_.push_back(c);
        c->wake->acquire();
      }
    })->daemonize();
  }

  AttemptSite site_of(int node) const {
    return sites_[node];
  }

  // Runs attempts of `job` on `node` until it completes or moves away (case V).
  void supervise(Job& job, int node, double from, bool restore, bool first_attempt) {
    for (;;) {
      wait_until_up(node);
      Node& where = nodes_[node];
      Attempt attempt;
      where.running.push_back(&attempt);
      if (first_attempt && job.doomed) attempt.kill_at(job.start + job.kill_fraction * costs_.failure_free_s);
      first_attempt = false;
      const double began = now();
      run_attempt(attempt, job, node, from, restore);
      attempt.disarm();
      where.forget(&attempt);
      if (!after_attempt(job, node, began, from, restore)) return;
    }
  }

  // An attempt that began at `began` has ended (the job done, or killed):
  // true when the job is to be tried again on `node` (from, restore: how);
  // false when it is done or has moved (case V's migration owns it then).
  bool after_attempt(Job& job, int node, double began, double& from, bool& restore) {
    settle_forked_write(job, false);
    if (job.progress.done) {
      note_done(job, node, began, now());
      STORY("job %d done on %s, turnaround %.2f s", job.id, node_name(node).c_str(), now() - job.start);
      return false;
    }
    if (s_.record_node_use) result_.node_use.push_back({replication_, node, job.id, began - t0_, now() - t0_});
    Node& where = nodes_[node];
    ++result_.kills;
    const bool has_image = job.progress.image_node >= 0;
    STORY("job %d killed on %s (%s)", job.id, node_name(node).c_str(),
          has_image                     ? "it has a checkpoint"
          : costs_.checkpoints.empty() ? "restart from scratch"
                                       : "no checkpoint yet: restart from scratch");
    restore = false;
    from = 0;
    switch (s_.c) {
      case Case::IIIp:
        if (s_.failures.kind == FailureModel::Kind::PerJob) {
          where.down_until = std::max(where.down_until, now() + s_.profile.reboot_s);
          STORY("node %d reboots for %.0f s", node + 1, s_.profile.reboot_s);
        }
        break;
      case Case::IV:
        if (has_image) {
          from = job.progress.checkpointed;
          restore = true;
        }
        break;
      case Case::V:
        if (has_image) {
          const int target = migration_target(node);
          if (target != node) {
            ++result_.migrations;
            const double killed_at = now();
            s4u::Actor::create("migrate-" + std::to_string(job.id), head_,
                               [this, &job, target, killed_at] { migrate(job, target, killed_at); });
            return false;  // this node's queue goes on; the migration actor owns the job now
          }
          from = job.progress.checkpointed;
          restore = true;
        }
        break;
      default:
        break;
    }
    requeue_wait(job, node);
    return true;
  }

  // A job's last attempt, on `node` from `began`, ended it at `ended`.
  void note_done(const Job& job, int node, double began, double ended) {
    note_done(slot(job), job.id, job.start, node, began, ended);
  }
  // The same for the job in `slot`, of this id, that first started at `start`.
  void note_done(size_t slot, int id, double start, int node, double began, double ended) {
    if (s_.record_node_use) result_.node_use.push_back({replication_, node, id, began - t0_, ended - t0_});
    result_.turnarounds[slot] = ended - start;
    result_.makespan_s = std::max(result_.makespan_s, ended - t0_);
    if (all_done_ && --jobs_left_ == 0) all_done_->release();
  }

  // The scheduler's queue wait after a requeue: the job's next attempt starts
  // requeue_delay_s later than it could (after its node is back up, if it was
  // down). Its node waits with it: nothing else starts there meanwhile.
  void requeue_wait(const Job& job, int node) {
    if (!(requeue_delay_ > 0)) return;
    if (node >= 0) wait_until_up(node);
    STORY("job %d requeued: waits %.1f s for the scheduler", job.id, requeue_delay_);
    s4u::this_actor::sleep_for(requeue_delay_);
  }

  // Case V: the image goes from the node that holds it to `target` over the
  // network (contended with any other transfer), then is restored there.
  // spare: the spare is taken (or waited for) before the copy, as the image
  // goes to its disk; queue: the job joins the front of the target's queue
  // once its image has arrived; share: it starts beside the target's job.
  // With a requeue delay the job first waits that long in the scheduler's
  // queue (its image stays where it is meanwhile).
  void migrate(Job& job, int target, double killed_at) {
    const VPlacement placement = s_.v_placement;
    if (requeue_delay_ > 0) {
      requeue_wait(job, -1);
      killed_at = now();  // spare: the wait for a spare counts from here
    }
    if (placement == VPlacement::Spare) {
      target = slots_.take_spare();
      note_wait(job, now() - killed_at);
    }
    const int source = job.progress.image_node;
    if (storage_) {
      STORY("job %d: image on the shared file system, restored on %s", job.id, node_name(target).c_str());
    } else {
      STORY("job %d: image (%.0f MB) from node %d to %s", job.id, costs_.image_bytes / 1e6, source + 1,
               node_name(target).c_str());
      if (costs_.copy_setup_s > 0) s4u::this_actor::sleep_for(costs_.copy_setup_s);
      s4u::Comm::sendto(nodes_[source].host, nodes_[target].host, static_cast<uint64_t>(costs_.image_bytes));
    }
    job.progress.image_node = target;
    if (placement == VPlacement::Queue) {
      const double arrived = now();
      slots_.take_front(target);
      note_wait(job, now() - arrived);
    }
    supervise(job, target, job.progress.checkpointed, true, false);
    if (placement != VPlacement::Share) slots_.release(target);
  }

  void note_wait(const Job& job, double waited) {
    if (waited <= 0) return;
    ++result_.migration_waits;
    result_.migration_wait_s += waited;
    STORY("job %d waited %.1f s for a node", job.id, waited);
  }

  std::string node_name(int node) const {
    return slots_.is_spare(node) ? "spare " + std::to_string(node - compute_nodes_ + 1)
                                 : "node " + std::to_string(node + 1);
  }

  // Where a killed job's image goes: the next compute node that is up (share,
  // queue); any spare, chosen when the migration starts (spare: kSpare). A job
  // killed on a spare, or with no other node up, is restored where it is.
  static constexpr int kSpare = -2;
  int migration_target(int node) const {
    if (s_.v_placement == VPlacement::Spare) return slots_.is_spare(node) ? node : kSpare;
    const int n = compute_nodes_;
    for (int k = 1; k < n; ++k) {
      const int j = (node + k) % n;
      if (nodes_[j].down_until <= now()) return j;
    }
    return node;
  }

  // One attempt of a job, on its node: restore, then compute and checkpoints,
  // until the job is done or the attempt killed (it stops where it is).
  void run_attempt(Attempt& a, Job& job, int node, double from, bool restore) {
    if (told_ahead_) return run_attempt_ahead(a, job, node, from, restore);
    s4u::Host* host = nodes_[node].host;
    const double speed = host->get_speed();
    if (restore) {
      if (a.killed()) return;
      STORY("job %d restores from its checkpoint at %.1f s of compute", job.id, from);
      if (!image_io(a, node, costs_.restore_s, false)) return;
    }
    double at = from;
    for (size_t k = 0; k < costs_.checkpoints.size(); ++k) {
      const double cp = costs_.checkpoints[k];
      if (cp <= at) continue;
      if (!a.exec(host, (cp - at) * speed)) return;
      at = cp;
      if (costs_.forked) {
        if (!forked_dump(a, job, node, k, cp)) return;
        continue;
      }
      STORY("job %d checkpoints (%.1f s)", job.id, costs_.dump_s[k]);
      if (!image_io(a, node, costs_.dump_s[k], true)) return;
      job.progress.checkpointed = cp;
      job.progress.image_node = node;
    }
    if (costs_.work_s > at && !a.exec(host, (costs_.work_s - at) * speed)) return;
    job.progress.done = true;
  }

  // The same attempt as one wait (attempt_ahead.h): what a failure ends
  // early leaves the job as the steps done by then left it.
  void run_attempt_ahead(Attempt& a, Job& job, int node, double from, bool restore) {
    if (restore && a.killed()) return;
    const AttemptAhead ahead(costs_, job.progress, site_of(node), now(), from, restore);
    const bool completed = a.sleep(ahead.end() - now());
    result_.events += completed ? ahead.stories() : ahead.stories_by(now());
    job.progress = completed ? ahead.finished() : ahead.progress_at(now());
  }

  // A forked dump: the previous fork's image completed first (the library
  // waits for a fork still writing, the job stopped), the job stopped for
  // its fork, then the fork's write started; the job goes on at once.
  bool forked_dump(Attempt& a, Job& job, int node, size_t k, double cp) {
    if (job.progress.pending_node >= 0) {
      const double waited = now();
      if (job.pending_io && !a.wait(job.pending_io)) return false;
      if (!job.pending_io && job.progress.pending_ready_at > now() && !a.sleep(job.progress.pending_ready_at - now())) return false;
      if (now() > waited) STORY("job %d waits %.1f s for its previous fork's write", job.id, now() - waited);
      settle_forked_write(job, true);
    }
    STORY("job %d checkpoints forked (stopped %.3f s, written in %.1f s)", job.id, costs_.dump_s[k], costs_.write_s[k]);
    if (!a.sleep(costs_.dump_s[k])) return false;
    job.progress.pending_checkpointed = cp;
    job.progress.pending_node = node;
    job.progress.pending_ready_at = now() + costs_.write_s[k];
    job.pending_io = start_write(node, costs_.write_s[k]);
    return true;
  }

  // The fork's write as I/O where others share the disk or file system (an
  // activity that runs on by itself); nullptr where the node's disk is its
  // own: the write then simply takes its time.
  simgrid::s4u::ActivityPtr start_write(int node, double seconds) {
    const double bps = sites_[node].write_Bps;
    const uint64_t bytes = io_bytes(seconds, bps);
    if (bytes == 0 || (!storage_ && sole_disk_user_)) return nullptr;
    if (storage_) return s4u::Comm::sendto_async(nodes_[node].host, storage_, bytes);
    return nodes_[node].disk->write_async(bytes);
  }

  // A forked dump's image becomes the restore point once written; one still
  // being written when the attempt ends (killed: its fork dies with it) is lost.
  void settle_forked_write(Job& job, bool written) {
    if (job.progress.pending_node < 0) return;
    if (!written) written = job.pending_io ? write_done(job.pending_io) : job.progress.pending_ready_at <= now();
    if (written) {
      job.progress.checkpointed = job.progress.pending_checkpointed;
      job.progress.image_node = job.progress.pending_node;
    } else {
      if (job.pending_io) job.pending_io->cancel();
      if (!job.progress.done) STORY("job %d: its forked image was not written yet, lost", job.id);
    }
    job.progress.pending_node = -1;
    job.pending_io = nullptr;
  }

  static bool write_done(const simgrid::s4u::ActivityPtr& io) {
    try {
      return io->test();
    } catch (const simgrid::Exception&) {
      return false;  // cancelled with its attempt
    }
  }

  // A dump (write) or restore of what costs `seconds` on the node's disk:
  // there, or the same bytes to or from the shared file system, over the
  // node's link (its per-client limit, cluster_platform.cpp) and the file
  // system's, shared with every other transfer.
  // False once the attempt is killed.
  bool image_io(Attempt& a, int node, double seconds, bool write) {
    const double bps = write ? sites_[node].write_Bps : sites_[node].read_Bps;
    if (!storage_) return disk_time(a, nodes_[node].disk, seconds, bps, write, sole_disk_user_);
    const uint64_t bytes = io_bytes(seconds, bps);
    if (bytes == 0) return true;
    s4u::Host* host = nodes_[node].host;
    return a.wait(write ? s4u::Comm::sendto_async(host, storage_, bytes) : s4u::Comm::sendto_async(storage_, host, bytes));
  }

  // A dump or restore is disk I/O sized so that, alone on the disk, it takes
  // exactly the profile's cost; concurrent I/O on the same disk shares it.
  // When nothing can share the disk (sole_user), the I/O takes exactly
  // bytes/bandwidth, and a sleep that long is the same thing: SimGrid 3.32's
  // disk model has only the full update (every disk action looked at, at every
  // event), which made the simulator's cost grow as nodes^1.6.
  static bool disk_time(Attempt& a, const s4u::Disk* disk, double seconds, double bps, bool write, bool sole_user) {
    const sg_size_t bytes = io_bytes(seconds, bps);
    if (bytes == 0) return true;
    if (sole_user) return a.sleep(static_cast<double>(bytes) / bps);
    return a.wait(write ? disk->write_async(bytes) : disk->read_async(bytes));
  }

  // The failures of nodes 0..count-1, all from one actor (an actor per node
  // cost a stack each, the simulator's memory at scale): a heap of each
  // node's next failure, drawn from the node's own stream as before. A node
  // fails, stays down for the reboot time, then runs until its next draw.
  void node_failures(int count, int replication) {
    std::vector<RandomStream> draws;
    draws.reserve(static_cast<size_t>(count));
    using Next = std::pair<double, int>;  // when, which node (ties: the lower node first)
    std::priority_queue<Next, std::vector<Next>, std::greater<>> next;
    const auto draw = [&](int node) { return draws[node].time_to_failure(s_.failures.mtbf_s, s_.failures.weibull_shape); };
    for (int node = 0; node < count; ++node) {
      draws.emplace_back(s_.seed, s_.order, replication, node, -1);
      next.push({now() + draw(node), node});
    }
    for (;;) {
      const auto [at, node] = next.top();
      next.pop();
      if (at > now()) s4u::this_actor::sleep_for(at - now());
      fail_node(node);
      next.push({(now() + s_.profile.reboot_s) + draw(node), node});
    }
  }

  void fail_node(int node) {
    Node& n = nodes_[node];
    n.down_until = now() + s_.profile.reboot_s;
    STORY("%s fails, down for %.0f s, %zu job(s) killed", node_name(node).c_str(), s_.profile.reboot_s,
          n.running.size() + (n.run.armed() ? 1 : 0));
    if (n.run.armed()) kill_run(node);
    auto victims = std::move(n.running);
    n.running.clear();
    for (Attempt* a : victims) a->kill();
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

}  // namespace

ClusterModel::ClusterModel(const Scenario& scenario, const ClusterPlatform& platform)
    : scenario_(scenario), platform_(platform) {}

ReplicationResult ClusterModel::run_replication(s4u::Engine& engine, int replication) const {
  Replication rep(scenario_, platform_, replication);
  rep.start(replication);
  engine.run();
  return rep.take_result();
}

}  // namespace ckptsim::sim
