#include "remote_syscalls.h"

#include <signal.h>
#include <sys/ptrace.h>
#include <sys/wait.h>

#include <cstring>

#include "restart/restart.h"

namespace ckptsim::restart {

RemoteSyscalls::RemoteSyscalls(Tracee& t) : t_(t), saved_(t.regs()), scratch_used_(kScratchCodeBytes) {}

RemoteSyscalls::~RemoteSyscalls() {
  // Best effort: if the tracee is gone the guard is about to reap it anyway.
  ::ptrace(PTRACE_SETREGS, t_.pid(), nullptr, &saved_);
}

long RemoteSyscalls::syscall(long nr, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5, uint64_t a6) {
  if (!t_.syscall_insn) throw RestoreError("internal: no syscall instruction in the child");
  user_regs_struct r = saved_;
  r.rax = static_cast<uint64_t>(nr);
  r.orig_rax = static_cast<uint64_t>(nr);
  r.rdi = a1, r.rsi = a2, r.rdx = a3, r.r10 = a4, r.r8 = a5, r.r9 = a6;
  r.rip = t_.syscall_insn;
  t_.set_regs(r);
  // One single-step over the `syscall` instruction: the call completes and the
  // child stops right after it. Half the stops of PTRACE_SYSCALL's entry and
  // exit pair, and each stop is two context switches.
  int status = t_.resume_until_stop(PTRACE_SINGLESTEP);
  while ((status >> 16) != 0) {
    // A ptrace event inside the call (the clone of a thread reports the new
    // tid): the call itself is still under way, so step on to its end.
    unsigned long msg = 0;
    ::ptrace(PTRACE_GETEVENTMSG, t_.pid(), nullptr, &msg);
    if ((status >> 16) == PTRACE_EVENT_CLONE) t_.cloned = static_cast<pid_t>(msg);
    status = t_.resume_until_stop(PTRACE_SINGLESTEP);
  }
  if (WSTOPSIG(status) != SIGTRAP) throw RestoreError("remote syscall: unexpected stop after the call");
  const user_regs_struct after = t_.regs();
  if (after.rip != t_.syscall_insn + 2) throw RestoreError("remote syscall: the child did not stop after the call");
  return static_cast<long>(after.rax);
}

long RemoteSyscalls::check(const std::string& what, long nr, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
                           uint64_t a5, uint64_t a6) {
  long r = syscall(nr, a1, a2, a3, a4, a5, a6);
  if (r < 0 && r > -4096) throw RestoreError(what + ": " + std::strerror(static_cast<int>(-r)));
  return r;
}

uint64_t RemoteSyscalls::push(const void* data, size_t len) {
  const uint64_t aligned = (scratch_used_ + 15) & ~uint64_t{15};
  if (!t_.scratch || aligned + len > t_.scratch_size) throw RestoreError("internal: remote scratch area exhausted");
  t_.write_mem(t_.scratch + aligned, data, len);
  scratch_used_ = aligned + len;
  return t_.scratch + aligned;
}

}  // namespace ckptsim::restart
