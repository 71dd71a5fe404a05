// One job attempt in progress, run by the actor that owns the job (its node's
// queue actor, or case V's migration actor): the compute, dump, restore or
// copy in flight, which a failure interrupts.
//
// An attempt used to be an actor of its own, created for each try and killed
// by a failure; at 10,000 nodes and more, creating, joining and killing those
// actors (a stack each, zeroed) cost more than the simulation. Now a failure
// cancels what the attempt is waiting on, at the same simulated time, and each
// step returns false once the attempt is killed: the owner stops there, as the
// killed actor did.
#pragma once
#include <simgrid/kernel/Timer.hpp>
#include <simgrid/s4u.hpp>
#include <simgrid/simix.hpp>

namespace ckptsim::sim {

class Attempt {
 public:
  Attempt() = default;
  Attempt(const Attempt&) = delete;
  Attempt& operator=(const Attempt&) = delete;
  ~Attempt() { disarm(); }

  bool killed() const { return killed_; }

  // `flops` of compute on `host` (this_actor::execute's, on any host). Made
  // and started in one trip to the kernel: from an actor, each of s4u's
  // setters and start() is a simcall of its own (a context switch to maestro
  // and back), three per compute step where one does.
  bool exec(simgrid::s4u::Host* host, double flops) {
    // Made here, not in the kernel: made inside the simcall, the run was
    // twice slower at 2,000 nodes (likely because an activity is recorded
    // with the actor that creates it, there maestro for every node).
    if (killed_) return false;
    simgrid::s4u::ExecPtr e = simgrid::s4u::Exec::init();
    simgrid::kernel::actor::simcall_answered([&e, host, flops] { e->set_flops_amount(flops)->set_host(host)->start(); });
    return wait(e);
  }

  // Waits for an activity (created or started); cancelled by kill().
  bool wait(simgrid::s4u::ActivityPtr activity) {
    if (killed_) return false;
    current_ = std::move(activity);
    try {
      current_->wait();
    } catch (const simgrid::Exception&) {
      if (!killed_) throw;
    }
    current_ = nullptr;
    return !killed_;
  }

  // this_actor::sleep_for(seconds) that kill() ends early: a semaphore nobody
  // releases but kill(), acquired with that timeout (the same CPU sleep
  // underneath, ending at the same time).
  bool sleep(double seconds) {
    if (killed_) return false;
    if (!wake_) wake_ = simgrid::s4u::Semaphore::create(0);
    sleeping_ = true;
    wake_->acquire_timeout(seconds);
    sleeping_ = false;
    return !killed_;
  }

  // Ends the attempt now: from a failure's actor, or from the kernel (kill_at).
  void kill() {
    if (killed_) return;
    killed_ = true;
    if (current_)
      current_->cancel();
    else if (sleeping_)
      wake_->release();
  }

  // Actor::set_kill_time's rule: a date already past is ignored.
  void kill_at(double date) {
    simgrid::kernel::actor::simcall_answered([this, date] {
      if (date <= simgrid::s4u::Engine::get_clock()) return;
      timer_ = simgrid::kernel::timer::Timer::set(date, [this] {
        timer_ = nullptr;
        kill();
      });
    });
  }

  // The kill time no longer applies (the attempt is over).
  void disarm() {
    if (!timer_) return;
    simgrid::kernel::actor::simcall_answered([this] {
      if (timer_) timer_->remove();
      timer_ = nullptr;
    });
  }

 private:
  bool killed_ = false;
  bool sleeping_ = false;
  simgrid::s4u::ActivityPtr current_;
  simgrid::s4u::SemaphorePtr wake_;
  simgrid::kernel::timer::Timer* timer_ = nullptr;
};

}  // namespace ckptsim::sim
