// The child: fork, PTRACE_TRACEME, descriptors at their numbers, exec the
// program, stop at the exec (before its dynamic loader has run a single
// instruction). Everything after the exec happens through ptrace.
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/close_range.h>
#include <linux/sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

#include "exec_program.h"
#include "phases.h"
#include "tracee.h"

namespace ckptsim::restart {
namespace {

// fork(), but under the checkpointed pid when it is free: some programs keep
// their pid and check it (Python's asyncio finds its running loop only in the
// pid that started it). clone3's set_tid needs CAP_CHECKPOINT_RESTORE; without
// it, or with the pid taken, the child gets any pid.
pid_t fork_as(pid_t pid) {
  if (pid > 0) {
    pid_t tid = pid;
    clone_args args{};
    args.exit_signal = SIGCHLD;
    args.set_tid = reinterpret_cast<uint64_t>(&tid);
    args.set_tid_size = 1;
    const long r = ::syscall(SYS_clone3, &args, sizeof args);
    if (r >= 0 || (errno != EEXIST && errno != EPERM && errno != ENOSYS && errno != EINVAL))
      return static_cast<pid_t>(r);
  }
  return ::fork();
}

}  // namespace

ChildGuard spawn_child(const Image& img, FdPlan& plan) {
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) throw RestoreError("pipe2: " + std::string(std::strerror(errno)));
  util::OwnedFd err_read(pipefd[0]), err_write(pipefd[1]);
  ExecPrep prep = prepare_exec(img, plan, std::max(pipefd[0], pipefd[1]) + 1);

  const pid_t pid = fork_as(img.pid);
  if (pid < 0) throw RestoreError("fork: " + std::string(std::strerror(errno)));
  if (pid == 0) become_program(img, plan, prep, err_write.get(), true);
  ChildGuard child(pid);
  err_write.reset();

  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) throw RestoreError("waitpid: " + std::string(std::strerror(errno)));
  if (!WIFSTOPPED(status) || WSTOPSIG(status) != SIGTRAP) {
    int err = 0;
    if (::read(err_read.get(), &err, sizeof err) == sizeof err)
      throw RestoreError("cannot start " + img.program_path + ": " + std::strerror(err));
    throw RestoreError("the child did not stop at its exec");
  }
  if (::ptrace(PTRACE_SETOPTIONS, pid, nullptr,
               reinterpret_cast<void*>(static_cast<long>(PTRACE_O_EXITKILL | PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACECLONE))) != 0)
    throw RestoreError("PTRACE_SETOPTIONS: " + std::string(std::strerror(errno)));
  return child;
}

}  // namespace ckptsim::restart
