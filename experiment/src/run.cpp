// The real replication: an event loop over the slots' processes. It sleeps in
// sigtimedwait until a child ends or the next checkpoint or kill is due, so
// its own CPU use stays out of the jobs' way and every kill lands on time.
#include "run.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <deque>
#include <fstream>
#include <limits>

#include "calib/probes.h"
#include "ckpt/control.h"
#include "util/stop.h"
#include "util/subprocess.h"

namespace fs = std::filesystem;

namespace ckptsim::experiment {
namespace {

using Clock = std::chrono::steady_clock;
constexpr double kNever = std::numeric_limits<double>::infinity();

struct Task {
  int job = 0;
  bool restore = false;
  fs::path image;  // restore: the image to restart
};

struct Attempt {
  enum Kind { Job, Copy } kind = Job;
  pid_t pid = -1;
  int slot = 0;     // Job: where it runs; Copy: the target slot
  int job = 0;
  bool own = true;  // the slot queue's current job (false: beside it, case V share)
  bool restore = false;
  double checkpoint_at = kNever;
  bool checkpoint_sent = false;
  double kill_at = kNever;
  bool killed = false;
  bool ended = false;
  fs::path ckpt_dir, log, image;
};

struct SlotState {
  std::deque<Task> queue;
  bool busy = false;
  double down_until = -kNever;
};

struct JobState {
  double start = -1;
  int attempts = 0;
  std::vector<fs::path> leftovers;  // image dirs and copies, removed once it is done
};

std::string said_last(const fs::path& log) {
  const std::string last = util::last_line(log);
  return last.empty() ? "(empty log)" : last;
}

// The job `ckptsim run` started: its first child.
pid_t child_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
  pid_t child = -1;
  in >> child;
  return child;
}

class Replication {
 public:
  Replication(const ReplicationPlan& plan, const std::vector<Slot>& slots, const CopyChannel* copy,
              const RunTools& tools)
      : plan_(plan), slots_(slots), copy_(copy), tools_(tools), state_(slots.size()), jobs_(plan.jobs.size()),
        t0_(Clock::now()) {
    prefix_ = "o" + std::to_string(plan.cell.order) + "-" + sim::to_string(plan.cell.c) + "-r" +
              std::to_string(plan.replication);
    reference_ = tools.outputs / ("reference-" + std::to_string(plan.cell.order) + ".out");
    outcome_.turnarounds.assign(plan.jobs.size(), 0.0);
    sigemptyset(&chld_);
    sigaddset(&chld_, SIGCHLD);
    ::sigprocmask(SIG_BLOCK, &chld_, &old_mask_);
  }
  ~Replication() {
    kill_all();
    ::sigprocmask(SIG_SETMASK, &old_mask_, nullptr);
  }

  ReplicationOutcome run(const std::function<void(const std::string&)>& status) {
    for (size_t i = 0; i < plan_.jobs.size(); ++i) state_.at(plan_.jobs[i].node).queue.push_back({int(i), false, {}});
    while (done_ < plan_.jobs.size()) {
      if (util::stop_requested()) {
        kill_all();
        clean();
        outcome_.interrupted = true;
        return outcome_;
      }
      start_idle_slots();
      const double deadline = act_on_deadlines();
      reap();
      if (done_ == plan_.jobs.size()) break;
      status(prefix_ + ": " + std::to_string(done_) + "/" + std::to_string(plan_.jobs.size()) + " jobs done");
      wait_for_child(deadline);
    }
    clean();
    return outcome_;
  }

 private:
  double now() const { return std::chrono::duration<double>(Clock::now() - t0_).count(); }
  const sim::JobFailureDraw& draw(int job) const { return plan_.jobs[static_cast<size_t>(job)]; }
  std::string job_name(int job) const {
    return "job " + std::to_string(draw(job).id) + " (order " + std::to_string(plan_.cell.order) + ", case " +
           sim::to_string(plan_.cell.c) + ", replication " + std::to_string(plan_.replication + 1) + ")";
  }
  fs::path output_of(int job) const { return tools_.outputs / (prefix_ + "-j" + std::to_string(draw(job).id) + ".out"); }

  void start_idle_slots() {
    for (size_t s = 0; s < slots_.size(); ++s) {
      SlotState& st = state_[s];
      // A free spare takes the oldest migration waiting for one: the image is
      // copied to it, then restored there (the spare is held meanwhile).
      if (slots_[s].spare && !st.busy && !spare_waiting_.empty()) {
        const Attempt killed = spare_waiting_.front();
        spare_waiting_.pop_front();
        start_copy(killed, static_cast<int>(s));
        st.busy = true;
        continue;
      }
      if (st.busy || st.queue.empty() || now() < st.down_until) continue;
      const Task t = st.queue.front();
      st.queue.pop_front();
      start(static_cast<int>(s), t, true);
    }
  }

  void start(int slot, const Task& t, bool own) {
    JobState& j = jobs_[static_cast<size_t>(t.job)];
    const bool first = j.attempts == 0;
    if (first) j.start = now();
    const int n = ++j.attempts;
    Attempt a;
    a.slot = slot;
    a.job = t.job;
    a.own = own;
    a.restore = t.restore;
    a.log = tools_.logs / (prefix_ + "-j" + std::to_string(draw(t.job).id) + "-a" + std::to_string(n) + ".log");
    std::vector<std::string> argv;
    if (t.restore) {
      argv = {tools_.ckptsim_exe.string(), "restart", t.image.string()};
    } else {
      a.ckpt_dir = slots_[static_cast<size_t>(slot)].dir / (prefix_ + "-j" + std::to_string(draw(t.job).id) + "-a" +
                                                            std::to_string(n));
      j.leftovers.push_back(a.ckpt_dir);
      // Dumps written as the model of these cells writes them (cells.cpp).
      // Forked, a kill before the fork's image is complete leaves `latest`
      // on the previous image, or none (the fork dies with the job's
      // process group): recover() restores from what is there, as the
      // model restores from the last complete image.
      argv = {tools_.ckptsim_exe.string(), "run"};
      if (plan_.dump_mode == sim::DumpMode::InProcess) argv.push_back("--no-fork");
      for (const std::string& w : {std::string("--dir"), a.ckpt_dir.string(), std::string("--"), tools_.matmul_exe.string(),
                                   std::string("--n"), std::to_string(plan_.cell.order), std::string("--out"),
                                   output_of(t.job).string()})
        argv.push_back(w);
      if (sim::takes_checkpoints(plan_.cell.c)) a.checkpoint_at = now() + plan_.checkpoint_after_s;
    }
    // Only the first attempt is doomed, at its drawn fraction of the failure-free run.
    if (first && draw(t.job).doomed) a.kill_at = j.start + draw(t.job).kill_fraction * plan_.failure_free_s;
    a.pid = spawn_pinned(argv, slots_[static_cast<size_t>(slot)].cpu, a.log);
    if (own) state_[static_cast<size_t>(slot)].busy = true;
    attempts_.push_back(std::move(a));
  }

  // Sends due checkpoint signals and kills; returns the next time something is due.
  double act_on_deadlines() {
    double next = kNever;
    for (Attempt& a : attempts_) {
      if (a.ended || a.kind != Attempt::Job) continue;
      if (!a.checkpoint_sent && !a.killed && now() >= a.checkpoint_at) signal_checkpoint(a);
      if (!a.killed && now() >= a.kill_at) {
        kill_group(a.pid);
        a.killed = true;
      }
      if (!a.checkpoint_sent && !a.killed) next = std::min(next, a.checkpoint_at);
      if (!a.killed) next = std::min(next, a.kill_at);
    }
    for (const SlotState& st : state_)
      if (!st.busy && !st.queue.empty()) next = std::min(next, st.down_until);
    return next;
  }

  void signal_checkpoint(Attempt& a) {
    const pid_t job = child_of(a.pid);
    // Not started yet, or libckpt's handler not installed yet: try again shortly.
    if (job <= 0 || !ckpt::catches_signal(job, SIGQUIT)) {
      a.checkpoint_at = now() + 0.001;
      return;
    }
    try {
      ckpt::request_checkpoint(job, false);
    } catch (const ckpt::CkptError&) {
      // The job ended meanwhile: its exit is handled when it is reaped.
    }
    a.checkpoint_sent = true;
  }

  void wait_for_child(double deadline) {
    // Wake at the next deadline, when a child ends, or at the latest every 50 ms (Ctrl-C).
    const double wait_s = std::clamp(deadline - now(), 0.0, 0.05);
    if (wait_s <= 0) return;
    timespec ts{static_cast<time_t>(wait_s), static_cast<long>((wait_s - std::floor(wait_s)) * 1e9)};
    ::sigtimedwait(&chld_, nullptr, &ts);
  }

  void reap() {
    for (size_t i = 0; i < attempts_.size(); ++i) {
      if (attempts_[i].ended) continue;
      int ws = 0;
      const pid_t r = ::waitpid(attempts_[i].pid, &ws, WNOHANG);
      if (r != attempts_[i].pid) continue;
      attempts_[i].ended = true;
      const int status = util::shell_status(ws);
      Attempt a = attempts_[i];  // copy: on_end may grow attempts_
      on_end(a, status);
    }
    attempts_.erase(std::remove_if(attempts_.begin(), attempts_.end(), [](const Attempt& a) { return a.ended; }),
                    attempts_.end());
  }

  void on_end(const Attempt& a, int status) {
    if (a.kind == Attempt::Copy) {
      if (status != 0) fail("the copy of " + job_name(a.job) + "'s image to slot " + std::to_string(a.slot + 1) + " failed");
      place_migrated(a.job, a.slot, a.image);
      return;
    }
    if (a.own) state_[static_cast<size_t>(a.slot)].busy = false;
    if (a.killed) {
      ++outcome_.kills;
      recover(a);
    } else if (status == 0) {
      finish(a);
    } else {
      fail(job_name(a.job) + " on slot " + std::to_string(a.slot + 1) + ": `ckptsim " + (a.restore ? "restart" : "run") +
           "` ended with status " + std::to_string(status) + " though it was not killed: " + said_last(a.log));
    }
  }

  static bool has_image(const fs::path& ckpt_dir) {
    std::error_code ec;
    return !ckpt_dir.empty() && fs::is_directory(ckpt_dir / image_format::kLatest, ec);
  }

  // The case's rule after a kill.
  void recover(const Attempt& a) {
    const int slot = a.slot;
    const Task scratch{a.job, false, {}};
    switch (plan_.cell.c) {
      case sim::Case::IIIp: {
        SlotState& st = state_[static_cast<size_t>(slot)];
        st.down_until = now() + plan_.reboot_s;
        st.queue.push_front(scratch);
        return;
      }
      case sim::Case::IV:
        if (has_image(a.ckpt_dir)) return start(slot, {a.job, true, a.ckpt_dir / image_format::kLatest}, true);
        return start(slot, scratch, true);
      case sim::Case::V:
        if (has_image(a.ckpt_dir) && copy_) {
          const int target = migration_target(slot);
          if (target == slot) return start(slot, {a.job, true, a.ckpt_dir / image_format::kLatest}, true);
          ++outcome_.migrations;
          if (target == kAnySpare) return spare_waiting_.push_back(a);
          return start_copy(a, target);
        }
        return start(slot, scratch, true);
      default:
        return start(slot, scratch, true);
    }
  }

  // As the model: the next regular slot that is up (share, queue), or any
  // spare, the first to be free (spare: kAnySpare); a job killed on a spare,
  // or with no other slot up, is restored where it is.
  static constexpr int kAnySpare = -2;
  int migration_target(int home) const {
    if (plan_.placement == sim::VPlacement::Spare) return slots_[static_cast<size_t>(home)].spare ? home : kAnySpare;
    int regular = 0;
    for (const Slot& s : slots_) regular += s.spare ? 0 : 1;
    for (int k = 1; k < regular; ++k) {
      const int j = (home + k) % regular;
      if (state_[static_cast<size_t>(j)].down_until <= now()) return j;
    }
    return home;
  }

  void start_copy(const Attempt& killed, int target) {
    const fs::path image = fs::canonical(killed.ckpt_dir / image_format::kLatest);
    const std::string name = prefix_ + "-j" + std::to_string(draw(killed.job).id);
    Attempt c;
    c.kind = Attempt::Copy;
    c.slot = target;
    c.job = killed.job;
    c.image = copy_->destination(target, name);
    jobs_[static_cast<size_t>(killed.job)].leftovers.push_back(c.image);
    c.pid = copy_->start(image, target, name);
    attempts_.push_back(std::move(c));
  }

  void place_migrated(int job, int target, const fs::path& image) {
    const Task t{job, true, image};
    SlotState& st = state_[static_cast<size_t>(target)];
    switch (plan_.placement) {
      case sim::VPlacement::Share:
        return start(target, t, false);
      case sim::VPlacement::Queue:
        st.queue.push_front(t);
        return;
      default:  // spare: it has been held for this job since the copy started
        st.busy = false;
        return start(target, t, true);
    }
  }

  void finish(const Attempt& a) {
    JobState& j = jobs_[static_cast<size_t>(a.job)];
    const double turnaround = now() - j.start;
    const fs::path out = output_of(a.job);
    std::error_code ec;
    if (plan_.cell.c == sim::Case::I && !fs::exists(reference_, ec)) {
      fs::copy_file(out, reference_, ec);
      if (ec) fail("cannot keep case I's output as the reference: " + ec.message());
    } else if (!calib::files_equal(out, reference_)) {
      fail(job_name(a.job) + " finished but its output differs from case I's bytes (" + out.string() + ")");
    }
    fs::remove(out, ec);
    for (const fs::path& p : j.leftovers) fs::remove_all(p, ec);
    outcome_.turnarounds[static_cast<size_t>(a.job)] = turnaround;
    ++done_;
  }

  void kill_all() {
    for (Attempt& a : attempts_) {
      if (a.ended) continue;
      kill_group(a.pid);
      ::kill(a.pid, SIGKILL);
    }
    for (Attempt& a : attempts_) {
      if (a.ended) continue;
      int ws;
      while (::waitpid(a.pid, &ws, 0) < 0 && errno == EINTR) {
      }
      a.ended = true;
    }
  }

  void clean() {
    for (const Slot& s : slots_) clean_slot(s);
  }

  [[noreturn]] void fail(const std::string& why) {
    kill_all();
    clean();
    throw RunFailed(why);
  }

  const ReplicationPlan& plan_;
  const std::vector<Slot>& slots_;
  const CopyChannel* copy_;
  const RunTools& tools_;
  std::vector<SlotState> state_;
  std::vector<JobState> jobs_;
  std::vector<Attempt> attempts_;
  ReplicationOutcome outcome_;
  Clock::time_point t0_;
  std::string prefix_;
  fs::path reference_;
  std::deque<Attempt> spare_waiting_;  // killed jobs waiting for a free spare
  size_t done_ = 0;
  sigset_t chld_, old_mask_;
};

}  // namespace

ReplicationOutcome run_replication(const ReplicationPlan& plan, const std::vector<Slot>& slots,
                                   const CopyChannel* copy, const RunTools& tools,
                                   const std::function<void(const std::string&)>& status) {
  Replication rep(plan, slots, copy, tools);
  return rep.run(status);
}

}  // namespace ckptsim::experiment
