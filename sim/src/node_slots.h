// One job at a time per node, for case V's queue and spare placements: which
// nodes are held, and the migrated jobs waiting for one. A node's own queue
// takes it only when no migrated job waits for it (they go first, in arrival
// order); a migrated job for the spares takes the first free spare or waits,
// in arrival order, for the first to be released.
//
// SimGrid actors run one at a time and only switch inside a simcall; the
// mutex and condition variable are created and used only once an actor must
// wait, so a run in which nobody waits makes exactly the simcalls it made
// without this class (share placement and cases I-IV: results unchanged).
#pragma once
#include <deque>
#include <map>
#include <mutex>
#include <vector>

#include <simgrid/s4u.hpp>

namespace ckptsim::sim {

class NodeSlots {
 public:
  // Nodes 0..nodes-1 are compute nodes, nodes..nodes+spares-1 the spares.
  NodeSlots(int nodes, int spares) : busy_(nodes + spares, 0), first_spare_(nodes), spares_(spares) {}

  bool is_spare(int node) const { return node >= first_spare_; }

  // The node's own queue: waits until the node is free and no migrated job waits for it.
  void take_own(int node) {
    auto free = [&] { return !busy_[node] && no_front(node); };
    if (free()) {
      busy_[node] = 1;
      return;
    }
    auto lock = locked();
    while (!free()) cv_->wait(lock);
    busy_[node] = 1;  // before unlocking: unlock is a simcall, others may run
  }

  // A migrated job at the front of `node`'s queue (behind earlier migrated ones).
  void take_front(int node) {
    if (!busy_[node] && no_front(node)) {
      busy_[node] = 1;
      return;
    }
    wait_for_grant(front_[node]);
  }

  // A migrated job for the spares: the first free one, or the first released.
  int take_spare() {
    if (spare_waiters_.empty())
      for (int i = first_spare_; i < first_spare_ + spares_; ++i)
        if (!busy_[i]) {
          busy_[i] = 1;
          return i;
        }
    return wait_for_grant(spare_waiters_);
  }

  // Hands the node straight to the first migrated job waiting for it, if any.
  void release(int node) {
    if (!cv_) return hand_over(node);  // nobody has ever waited: no simcall
    std::unique_lock<simgrid::s4u::Mutex> lock(*mutex_);
    hand_over(node);
    cv_->notify_all();
  }

 private:
  void hand_over(int node) {
    busy_[node] = 0;
    if (!is_spare(node) && no_front(node)) return;
    auto& waiters = is_spare(node) ? spare_waiters_ : front_[node];
    if (!waiters.empty()) {
      granted_[waiters.front()] = node;
      waiters.pop_front();
      busy_[node] = 1;
    }
  }

  // The waiter checks its condition with the mutex held and release() changes
  // state with it held, so a release cannot slip between check and wait.
  int wait_for_grant(std::deque<long>& queue) {
    const long ticket = next_ticket_++;
    queue.push_back(ticket);
    {
      auto lock = locked();
      while (granted_.find(ticket) == granted_.end()) cv_->wait(lock);
    }
    const int node = granted_[ticket];
    granted_.erase(ticket);
    return node;
  }

  bool no_front(int node) const {
    const auto it = front_.find(node);
    return it == front_.end() || it->second.empty();
  }

  std::unique_lock<simgrid::s4u::Mutex> locked() {
    if (!cv_) {
      mutex_ = simgrid::s4u::Mutex::create();
      cv_ = simgrid::s4u::ConditionVariable::create();
    }
    return std::unique_lock<simgrid::s4u::Mutex>(*mutex_);
  }

  std::vector<char> busy_;
  // Per compute node: migrated jobs waiting for it, for the nodes that ever
  // had one (a deque for each of 100,000 nodes was 600 bytes and two heap
  // blocks a node, in every case).
  std::map<int, std::deque<long>> front_;
  std::deque<long> spare_waiters_;
  std::map<long, int> granted_;  // ticket -> the node handed to it
  long next_ticket_ = 0;
  int first_spare_, spares_;
  simgrid::s4u::MutexPtr mutex_;
  simgrid::s4u::ConditionVariablePtr cv_;
};

}  // namespace ckptsim::sim
