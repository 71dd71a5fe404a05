// The tree's init: pid 1 of a new PID namespace, so every process of the tree
// gets back the pid it had (clone3 set_tid there is free of the host's pids),
// and of a new mount namespace with a /proc of its own, so /proc/self and
// getpid() agree inside. It creates the root, passes on the signals a job is
// sent from outside (the checkpoint signal among them), reaps orphans, and
// ends the way the root ends: its exit code, or 128 + the signal that killed
// it (pid 1 cannot die of a signal it sends itself; wait_for_exit gives the
// same shell-style status either way).
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/close_range.h>
#include <linux/sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "tree_build.h"

namespace ckptsim::restart {
namespace {

volatile sig_atomic_t g_root = 0;

void forward(int sig) {
  if (g_root > 0) ::kill(g_root, sig);
}

constexpr int kForwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGCONT};

[[noreturn]] void run_init(const TreeBuild& b) {
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) report_failure(b, 1, BuildStep::Mount, errno);
  if (::mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0)
    report_failure(b, 1, BuildStep::Proc, errno);
  // Handlers are reset by the builders' exec; until then a forwarded signal
  // reaches a stopped tracee, and the restarter drops it.
  struct sigaction sa {};
  sa.sa_handler = forward;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  for (int sig : kForwarded) ::sigaction(sig, &sa, nullptr);
  const pid_t root = create_process(b, 0);
  if (root < 0) report_failure(b, b.procs[0].pid, BuildStep::Create, errno);
  g_root = root;
  // What init holds, no process of the tree may count on (a pipe's write end
  // kept here would never let its reader see the end): only stderr stays.
  ::close(0);
  ::close(1);
  ::syscall(SYS_close_range, 3, ~0U, 0);
  for (;;) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, 0);
    if (pid < 0 && errno == EINTR) continue;
    if (pid < 0) ::_exit(127);
    if (pid != root) continue;  // an orphan
    if (WIFSIGNALED(status)) ::_exit(128 + WTERMSIG(status));
    ::_exit(WEXITSTATUS(status));
  }
}

}  // namespace

pid_t start_init(const TreeBuild& b) {
  clone_args args{};
  args.flags = CLONE_NEWPID | CLONE_NEWNS;
  args.exit_signal = SIGCHLD;
  const long r = ::syscall(SYS_clone3, &args, sizeof args);
  if (r < 0) throw RestoreError("cannot start the tree's init in a new PID namespace: " + std::string(std::strerror(errno)));
  if (r == 0) run_init(b);
  return static_cast<pid_t>(r);
}

}  // namespace ckptsim::restart
