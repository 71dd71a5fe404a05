// A child stopped under ptrace: its registers and memory, and the guard that
// makes sure a half-restored process never runs.
#pragma once
#include <sys/types.h>
#include <sys/user.h>

#include <cstdint>
#include <string>
#include <vector>

#include "util/owned_fd.h"

namespace ckptsim::restart {

// Owns the child until the restore succeeded: on any failure (exception,
// early return) it is SIGKILLed and reaped.
class ChildGuard {
 public:
  explicit ChildGuard(pid_t pid) : pid_(pid) {}
  ChildGuard(ChildGuard&& o) noexcept : pid_(o.pid_), threads_(std::move(o.threads_)) { o.pid_ = -1; }
  ChildGuard& operator=(ChildGuard&&) = delete;
  ChildGuard(const ChildGuard&) = delete;
  ~ChildGuard();
  pid_t pid() const { return pid_; }
  // A traced thread of the child, to reap before the child itself.
  void add_thread(pid_t tid) { threads_.push_back(tid); }
  pid_t release() {
    pid_t p = pid_;
    pid_ = -1;
    threads_.clear();
    return p;
  }

 private:
  pid_t pid_;
  std::vector<pid_t> threads_;
};

// One stopped task (the process, or one of its threads: pid is then its tid).
class Tracee {
 public:
  explicit Tracee(pid_t pid);
  Tracee(Tracee&&) = default;
  pid_t pid() const { return pid_; }

  user_regs_struct regs() const;
  void set_regs(const user_regs_struct& r);
  void read_mem(uint64_t addr, void* buf, size_t len) const;
  // Through /proc/PID/mem, so read-only pages can be written too.
  void write_mem(uint64_t addr, const void* buf, size_t len);
  void write_str(uint64_t addr, const std::string& s) { write_mem(addr, s.c_str(), s.size() + 1); }

  // Resumes with `request` (PTRACE_SYSCALL...) until the next ptrace stop that
  // is not an unrelated signal; returns the waitpid status. Throws RestoreError
  // if the tracee died.
  int resume_until_stop(int request);
  // Waits for the next stop: its status, or -1 for an unrelated signal the
  // next resume drops. Throws RestoreError if the tracee died or faulted.
  int wait_stop();

  // Where remote syscalls find a `syscall` instruction, and where the scratch
  // area for their arguments lives (see RemoteSyscalls).
  uint64_t syscall_insn = 0;
  uint64_t scratch = 0, scratch_size = 0;
  // The task's id in its own pid namespace, where that is not ours (a tree's
  // process): what the program itself must see. 0: the same as pid().
  pid_t ns_pid = 0;
  pid_t own_pid() const { return ns_pid ? ns_pid : pid_; }
  // The id, in our namespace, of the task a remote clone just created
  // (PTRACE_EVENT_CLONE's message); 0 when none was reported.
  pid_t cloned = 0;

 private:
  pid_t pid_;
  util::OwnedFd mem_;
};

// One line of /proc/PID/maps.
struct MapsLine {
  uint64_t start = 0, end = 0;
  std::string perms, path;
};
std::vector<MapsLine> read_proc_maps(pid_t pid);

}  // namespace ckptsim::restart
