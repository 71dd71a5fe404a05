// Threads: what the kernel keeps per thread (rseq, alternate signal stack,
// robust futex list, clear_child_tid), the creation of every thread but the
// main one inside the restored process, and each thread's registers.
//
// Thread ids are kept when they can be: clone3's set_tid gives a thread its
// checkpoint-time id when the restarter may (CAP_CHECKPOINT_RESTORE or root
// in the pid namespace) and the id is free on this node, as spawn_child does
// for the process id. Otherwise the thread gets a new id, and what glibc
// caches of it, the descriptor's `tid` field (the kernel knows its address as
// clear_child_tid), gets the new id (CLONE_PARENT_SETTID), so pthread_kill,
// pthread_join and raise() use it. A normal mutex or condition variable holds
// no tid; with new ids, error-checking, recursive, robust and PI mutexes held
// across the checkpoint still record the old owner (docs/restarting.md, "Threads").
#include <elf.h>
#include <sched.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "phases.h"
#include "remote_syscalls.h"

namespace ckptsim::restart {
namespace {

constexpr int kSsAutodisarm = 1 << 31;  // SS_AUTODISARM, linux/signal.h
constexpr size_t kXstateBvOffset = 512;  // the xsave header's XSTATE_BV

struct CloneArgs {  // struct clone_args, as of Linux 5.5 (set_tid)
  uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size;
};

std::string thread_name(const ThreadImage& ti) { return "thread " + std::to_string(ti.tid); }

void restore_xstate(Tracee& t, const ThreadImage& ti) {
  // ptrace insists on exactly the kernel's xstate size: start from the
  // thread's own (initial) state and lay the image's bytes over it.
  std::vector<uint8_t> area(64 * 1024);
  iovec iov{area.data(), area.size()};
  if (::ptrace(PTRACE_GETREGSET, t.pid(), reinterpret_cast<void*>(NT_X86_XSTATE), &iov) != 0) {
    // No xsave on this CPU: the fxsave area is all there is.
    iovec fx{const_cast<uint8_t*>(ti.xstate.data()), 512};
    if (::ptrace(PTRACE_SETREGSET, t.pid(), reinterpret_cast<void*>(NT_PRFPREG), &fx) != 0)
      throw RestoreError("cannot restore the FPU state of " + thread_name(ti) + ": " + std::strerror(errno));
    return;
  }
  area.resize(iov.iov_len);
  std::memcpy(area.data(), ti.xstate.data(), std::min(area.size(), ti.xstate.size()));
  if (ti.xstate.size() == 512) {  // only an fxsave area: it holds x87 and SSE
    std::memset(area.data() + kXstateBvOffset, 0, 64);
    area[kXstateBvOffset] = 3;
  }
  iov = {area.data(), area.size()};
  if (::ptrace(PTRACE_SETREGSET, t.pid(), reinterpret_cast<void*>(NT_X86_XSTATE), &iov) != 0)
    throw RestoreError("cannot restore the FPU/SSE/AVX state (NT_X86_XSTATE) of " + thread_name(ti) + ": " +
                       std::strerror(errno));
}

// A thread made by a remote clone starts stopped by SIGSTOP (PTRACE_O_TRACECLONE).
void wait_first_stop(pid_t tid) {
  int status = 0;
  while (::waitpid(tid, &status, __WALL) < 0)
    if (errno != EINTR) throw RestoreError("waitpid on a new thread: " + std::string(std::strerror(errno)));
  if (!WIFSTOPPED(status)) throw RestoreError("a new thread died before it could be restored");
}

}  // namespace

void restore_thread_state(RemoteSyscalls& remote, const ThreadImage& ti) {
  // glibc registered an rseq area in each thread's TCB; a new thread has none.
  if (ti.rseq && ti.rseq->len)
    remote.check("cannot register rseq for " + thread_name(ti), SYS_rseq, ti.rseq->area, ti.rseq->len, 0,
                 ti.rseq->sig);
  if (ti.robust_head)
    remote.check("cannot restore the robust futex list of " + thread_name(ti), SYS_set_robust_list, ti.robust_head,
                 ti.robust_len);
  if (!(ti.altstack_flags & SS_DISABLE) && ti.altstack_size) {
    stack_t ss{};
    ss.ss_sp = reinterpret_cast<void*>(ti.altstack_sp);
    ss.ss_size = ti.altstack_size;
    ss.ss_flags = ti.altstack_flags & kSsAutodisarm;  // SS_ONSTACK is a state, not a setting
    remote.forget_pushed();
    remote.check("cannot restore the alternate signal stack of " + thread_name(ti), SYS_sigaltstack,
                 remote.push(&ss, sizeof ss), 0);
  }
}

void adopt_main_thread_id(RemoteSyscalls& remote, const ThreadImage& main) {
  if (!main.clear_child_tid) return;  // images before format 2 do not record it
  const int32_t tid = remote.tracee().own_pid();
  remote.tracee().write_mem(main.clear_child_tid, &tid, sizeof tid);
  remote.check("cannot restore the main thread's clear_child_tid", SYS_set_tid_address, main.clear_child_tid);
}

std::vector<Tracee> create_threads(Tracee& main, ChildGuard& guard, const Image& img) {
  std::vector<Tracee> threads;
  for (size_t i = 1; i < img.threads.size(); ++i) {
    const ThreadImage& ti = img.threads[i];
    // pthread_create's flags; the tid lands in glibc's descriptor
    // (PARENT_SETTID) and is cleared there when the thread exits (CHILD_CLEARTID).
    uint64_t flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM;
    if (ti.clear_child_tid) flags |= CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;
    long tid;
    main.cloned = 0;
    {
      RemoteSyscalls remote(main);
      // No stack of its own: the new thread runs no instruction before its
      // registers are replaced by the image's.
      const pid_t wanted = ti.tid;
      CloneArgs args{};
      args.flags = flags;
      args.child_tid = args.parent_tid = ti.clear_child_tid;
      args.set_tid = remote.push(&wanted, sizeof wanted);
      args.set_tid_size = 1;
      tid = remote.syscall(SYS_clone3, remote.push(&args, sizeof args), sizeof args);
      if (tid == -EEXIST || tid == -EPERM || tid == -ENOSYS || tid == -EINVAL)  // taken, or not allowed
        tid = remote.check("cannot create " + thread_name(ti), SYS_clone, flags, 0, ti.clear_child_tid,
                           ti.clear_child_tid, 0);
      else if (tid < 0)
        throw RestoreError("cannot create " + thread_name(ti) + ": " + std::strerror(static_cast<int>(-tid)));
    }
    // `tid` is the id in the process's own pid namespace; ptrace reported
    // the same task's id in ours (they differ in a tree's namespace).
    const pid_t ours = main.cloned ? main.cloned : static_cast<pid_t>(tid);
    guard.add_thread(ours);
    wait_first_stop(ours);
    Tracee t(ours);
    if (ours != tid) t.ns_pid = static_cast<pid_t>(tid);
    t.syscall_insn = main.syscall_insn;
    t.scratch = main.scratch;
    t.scratch_size = main.scratch_size;
    {
      RemoteSyscalls remote(t);
      restore_thread_state(remote, ti);
    }
    threads.push_back(std::move(t));
  }
  return threads;
}

void load_thread_registers(Tracee& t, const ThreadImage& ti) {
  user_regs_struct regs = ti.regs;
  regs.orig_rax = static_cast<uint64_t>(-1);  // never "restart" a syscall we did not interrupt
  if (!regs.fs_base) regs.fs_base = ti.fs_base;
  if (!regs.gs_base) regs.gs_base = ti.gs_base;
  t.set_regs(regs);
  restore_xstate(t, ti);
  uint64_t mask = ti.sigmask;
  if (::ptrace(PTRACE_SETSIGMASK, t.pid(), reinterpret_cast<void*>(sizeof mask), &mask) != 0)
    throw RestoreError("cannot restore the signal mask of " + thread_name(ti) + ": " + std::strerror(errno));
}

}  // namespace ckptsim::restart
