// A replication's jobs on their nodes (replication.h tells the whole story):
// its construction and start, each node's queue actor, and where nothing
// shares a node and the story is not told, a node's run of jobs told ahead
// as one kernel timer with no actor (arm_run), a run's end or its kill by a
// node failure, and the carriers that take a killed run's job on. Also the
// bookkeeping of a job done (note_done).
#include "replication.h"

#include <string>
#include <utility>

#include "sim/failure_draws.h"

XBT_LOG_EXTERNAL_DEFAULT_CATEGORY(ckptsim);

namespace ckptsim::sim::detail {

Replication::Replication(const Scenario& s, const ClusterPlatform& platform, int replication)
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

void Replication::start(int replication) {
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

// Every job, node-major. Only per-job failures read a job's draw (its
// doom and kill time); without them no job is doomed, and drawing two
// uniforms for each of 3,000,000 jobs (a stream made for each, and a
// vector of draws faulted in and freed) was an eighth of case IV's cost.
void Replication::make_jobs(int replication) {
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

void Replication::node_queue(int node) {
  for (int k = 0; k < s_.jobs_per_node;) {
    slots_.take_own(node);
    wait_until_up(node);
    k = run_job(node, k);
    slots_.release(node);
  }
}

// The node's job k, from its start to its completion (or its move away).
int Replication::run_job(int node, int k) {
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
inline void Replication::node_jobs_from_kernel(int node, int k) {
  if (k >= s_.jobs_per_node) return;
  if (!doomed(node, k)) return arm_run(node, k);
  s4u::Actor::create("queue-" + std::to_string(node + 1), nodes_[node].host,
                     [this, node, k] { node_jobs_from_actor(node, k); });
}

// From the node's actor: the jobs with a kill time run here, then a run.
void Replication::node_jobs_from_actor(int node, int k) {
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
inline void Replication::arm_run(int node, int k) {
  NodeRun& run = nodes_[node].run;
  run.first = k;
  run.count = 0;
  run.starts = &run_starts_[static_cast<size_t>(node) * (s_.jobs_per_node + 1)];
  run.starts[0] = now();
  for (; k < s_.jobs_per_node && !doomed(node, k); ++k, ++run.count)
    run.starts[run.count + 1] = attempt_in_run(node, run, run.count).end();
  run.timer = simgrid::kernel::timer::Timer::set(run.starts[run.count], [this, node] { run_ended(node); });
}

inline AttemptAhead Replication::attempt_in_run(int node, const NodeRun& run, int i) const {
  return AttemptAhead(costs_, JobProgress{}, site_of(node), run.starts[static_cast<size_t>(i)], 0.0, false);
}

// From the kernel: every job of the run is done; the node goes on.
inline void Replication::run_ended(int node) {
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
inline void Replication::job_done_in_run(int node, const NodeRun& run, int i) {
  const int k = run.first + i;
  const double began = run.starts[static_cast<size_t>(i)];
  const int stories = fresh_stories_ >= 0 ? fresh_stories_ : attempt_in_run(node, run, i).stories();
  result_.events += 1 + stories + 1;  // its start, its steps, its "done"
  note_done(slot_of(node, k), id_of(node, k), began, node, began, run.starts[static_cast<size_t>(i) + 1]);
}

// A job's last attempt, on `node` from `began`, ended it at `ended`.
void Replication::note_done(const Job& job, int node, double began, double ended) {
  note_done(slot(job), job.id, job.start, node, began, ended);
}
// The same for the job in `slot`, of this id, that first started at `start`.
inline void Replication::note_done(size_t slot, int id, double start, int node, double began, double ended) {
  if (s_.record_node_use) result_.node_use.push_back({replication_, node, id, began - t0_, ended - t0_});
  result_.turnarounds[slot] = ended - start;
  result_.makespan_s = std::max(result_.makespan_s, ended - t0_);
  if (all_done_ && --jobs_left_ == 0) all_done_->release();
}

// A fresh attempt's story count where it does not depend on when the
// attempt runs (no forked dump); -1 otherwise.
int Replication::fresh_attempt_stories(const JobCosts& costs) {
  if (costs.forked) return -1;
  return AttemptAhead(costs, JobProgress{}, AttemptSite{0, 1, 1, 1}, 0.0, 0.0, false).stories();
}

// From the failures' actor: the node's run stops now; the jobs done by now
// are done, the one running is killed and goes on in an actor of its own.
void Replication::kill_run(int node) {
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
void Replication::carry(int node, std::function<void()> work) {
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

std::string Replication::node_name(int node) const {
  return slots_.is_spare(node) ? "spare " + std::to_string(node - compute_nodes_ + 1)
                               : "node " + std::to_string(node + 1);
}

}  // namespace ckptsim::sim::detail
