// Failures and what follows them (replication.h tells the whole story): the
// node failures, from one daemon actor, and after each attempt the job's
// fate: done, or killed and tried again by its case's rule (restart, reboot,
// restore in place, or case V's migration to another node), after the
// scheduler's requeue wait.
#include "replication.h"

#include <functional>
#include <queue>
#include <string>
#include <utility>
#include <vector>

#include "random_streams.h"

XBT_LOG_EXTERNAL_DEFAULT_CATEGORY(ckptsim);

namespace ckptsim::sim::detail {

// Runs attempts of `job` on `node` until it completes or moves away (case V).
void Replication::supervise(Job& job, int node, double from, bool restore, bool first_attempt) {
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
bool Replication::after_attempt(Job& job, int node, double began, double& from, bool& restore) {
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

// The scheduler's queue wait after a requeue: the job's next attempt starts
// requeue_delay_s later than it could (after its node is back up, if it was
// down). Its node waits with it: nothing else starts there meanwhile.
void Replication::requeue_wait(const Job& job, int node) {
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
void Replication::migrate(Job& job, int target, double killed_at) {
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

void Replication::note_wait(const Job& job, double waited) {
  if (waited <= 0) return;
  ++result_.migration_waits;
  result_.migration_wait_s += waited;
  STORY("job %d waited %.1f s for a node", job.id, waited);
}

// Where a killed job's image goes: the next compute node that is up (share,
// queue); any spare, chosen when the migration starts (spare: kSpare). A job
// killed on a spare, or with no other node up, is restored where it is.
int Replication::migration_target(int node) const {
  if (s_.v_placement == VPlacement::Spare) return slots_.is_spare(node) ? node : kSpare;
  const int n = compute_nodes_;
  for (int k = 1; k < n; ++k) {
    const int j = (node + k) % n;
    if (nodes_[j].down_until <= now()) return j;
  }
  return node;
}

// The failures of nodes 0..count-1, all from one actor (an actor per node
// cost a stack each, the simulator's memory at scale): a heap of each
// node's next failure, drawn from the node's own stream as before. A node
// fails, stays down for the reboot time, then runs until its next draw.
void Replication::node_failures(int count, int replication) {
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

void Replication::fail_node(int node) {
  Node& n = nodes_[node];
  n.down_until = now() + s_.profile.reboot_s;
  STORY("%s fails, down for %.0f s, %zu job(s) killed", node_name(node).c_str(), s_.profile.reboot_s,
        n.running.size() + (n.run.armed() ? 1 : 0));
  if (n.run.armed()) kill_run(node);
  auto victims = std::move(n.running);
  n.running.clear();
  for (Attempt* a : victims) a->kill();
}

}  // namespace ckptsim::sim::detail
