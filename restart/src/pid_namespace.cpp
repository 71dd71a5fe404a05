// The tree's init: pid 1 of a new PID namespace, so every process of the tree
// gets back the pid it had (clone3 set_tid there is free of the host's pids),
// and of a new mount namespace with a /proc of its own, so /proc/self and
// getpid() agree inside. It creates the root, passes on the signals a job is
// sent from outside (the checkpoint signal among them), reaps orphans, and
// ends the way the root ends: its exit code, or 128 + the signal that killed
// it (pid 1 cannot die of a signal it sends itself; wait_for_exit gives the
// same shell-style status either way).
//
// Not root, the namespaces belong to a user namespace of their own, in which
// the user's uid and gid map to themselves: init and the builders hold every
// capability there until they exec (so clone3 set_tid and the /proc mount
// work), the programs hold none (an exec with a non-zero uid drops them).
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
#include <string>

#include "util/owned_fd.h"

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

// "" or what failed: /proc/PID/{setgroups,uid_map,gid_map} of the new user
// namespace, each id mapped to itself (setgroups denied first, as an
// unprivileged gid_map requires).
std::string map_own_ids(pid_t pid) {
  const std::string dir = "/proc/" + std::to_string(pid) + "/";
  const std::pair<const char*, std::string> files[] = {
      {"setgroups", "deny"},
      {"uid_map", std::to_string(::geteuid()) + " " + std::to_string(::geteuid()) + " 1\n"},
      {"gid_map", std::to_string(::getegid()) + " " + std::to_string(::getegid()) + " 1\n"}};
  for (const auto& [name, text] : files) {
    util::OwnedFd fd(::open((dir + name).c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd || ::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
      return std::string("cannot write ") + name + " of its user namespace: " + std::strerror(errno);
  }
  return "";
}

}  // namespace

pid_t start_init(const TreeBuild& b) {
  const bool own_user_ns = ::geteuid() != 0;
  int gate[2];
  if (::pipe2(gate, O_CLOEXEC) != 0) throw RestoreError("cannot start the tree's init: " + std::string(std::strerror(errno)));
  util::OwnedFd gate_r(gate[0]), gate_w(gate[1]);
  clone_args args{};
  args.flags = CLONE_NEWPID | CLONE_NEWNS | (own_user_ns ? CLONE_NEWUSER : 0);
  args.exit_signal = SIGCHLD;
  const long r = ::syscall(SYS_clone3, &args, sizeof args);
  if (r < 0)
    throw RestoreError(std::string("cannot start the tree's init in a new PID namespace") +
                       (own_user_ns ? " of a user namespace of its own (not root)" : "") + ": " + std::strerror(errno));
  if (r == 0) {
    // Init waits for its ids to be mapped: until then it has no uid to mount with.
    gate_w.reset();
    char c = 0;
    ssize_t n;
    while ((n = ::read(gate_r.get(), &c, 1)) < 0 && errno == EINTR) {
    }
    if (n != 1) ::_exit(127);  // the restarter gave up
    gate_r.reset();
    run_init(b);
  }
  const pid_t init = static_cast<pid_t>(r);
  if (own_user_ns) {
    if (const std::string failed = map_own_ids(init); !failed.empty()) {
      ::kill(init, SIGKILL);
      ::waitpid(init, nullptr, 0);
      throw RestoreError("cannot start the tree's init: " + failed);
    }
  }
  if (::write(gate_w.get(), "g", 1) != 1) throw RestoreError("cannot start the tree's init: " + std::string(std::strerror(errno)));
  return init;
}

}  // namespace ckptsim::restart
