// The builders: each process of the tree is first a copy of the restarter
// (no exec yet) that takes its recorded pid (clone3 set_tid), session and
// group, creates its own children the same way, and once every builder is
// ready and seized by the restarter, becomes its program (exec_program.h).
// Zombies are processes that exit at once with their recorded status; their
// parent does not reap them.
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/sched.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <chrono>
#include <cstring>
#include <map>

#include "tree_build.h"

namespace ckptsim::restart {
namespace {

[[noreturn]] void become_zombie(int status) {
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    rlimit none{0, 0};
    ::setrlimit(RLIMIT_CORE, &none);  // die of the signal, without writing a core
    ::signal(sig, SIG_DFL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    ::sigprocmask(SIG_UNBLOCK, &set, nullptr);
    ::kill(::getpid(), sig);
  }
  ::_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 127);
}

// The new process: session and group first (its parent waits for `sync`
// before it creates the next, which may join this one's group).
[[noreturn]] void run_process(const TreeBuild& b, size_t i, int sync) {
  const BuildProcess& me = b.procs[i];
  if (me.sid == me.pid) {
    if (::setsid() < 0) report_failure(b, me.pid, BuildStep::Session, errno);
  } else if (me.pgid == me.pid || me.join_group) {
    if (::setpgid(0, me.pgid == me.pid ? 0 : me.pgid) != 0) report_failure(b, me.pid, BuildStep::Group, errno);
  }
  (void)!::write(sync, "s", 1);
  ::close(sync);
  // Before the children: a session helper's children come to it when the helper exits.
  if (me.subreaper && ::prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) report_failure(b, me.pid, BuildStep::Subreaper, errno);
  for (size_t c : me.children)  // a zombie has some only as its session's helper
    if (create_process(b, c) < 0) report_failure(b, me.pid, BuildStep::Create, errno);
  if (me.zombie) become_zombie(me.exit_status);
  if (me.helper) ::_exit(0);  // its children are its creator's now; the creator reaps it
  const BuildReport ready{me.pid, BuildStep::Ready, 0};
  if (::write(b.report_w.get(), &ready, sizeof ready) != sizeof ready) ::_exit(127);
  char go = 0;
  ssize_t n;
  while ((n = ::read(b.go_r.get(), &go, 1)) < 0 && errno == EINTR) {
  }
  if (n != 1) ::_exit(127);  // the restarter gave up
  become_program(*me.img, *me.plan, *me.exec, -1, false);
}

// The highest descriptor number open here (every builder inherits them all).
int highest_open_fd() {
  int highest = 2;
  DIR* d = ::opendir("/proc/self/fd");
  if (!d) throw RestoreError("cannot list /proc/self/fd: " + std::string(std::strerror(errno)));
  while (dirent* e = ::readdir(d)) highest = std::max(highest, std::atoi(e->d_name));
  ::closedir(d);
  return highest;
}

util::OwnedFd pipe_end(util::OwnedFd& other) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) throw RestoreError("pipe2: " + std::string(std::strerror(errno)));
  other = util::OwnedFd(p[1]);
  return util::OwnedFd(p[0]);
}

std::string step_name(BuildStep s) {
  switch (s) {
    case BuildStep::Session: return "start its session (setsid)";
    case BuildStep::Group: return "join its process group (setpgid)";
    case BuildStep::Create: return "create a child under its recorded pid (clone3 set_tid)";
    case BuildStep::Mount: return "make its mounts private";
    case BuildStep::Proc: return "mount a /proc of its own";
    case BuildStep::Subreaper: return "become a child subreaper";
    default: return "start";
  }
}

}  // namespace

pid_t create_process(const TreeBuild& b, size_t i) {
  int sync[2];
  if (::pipe2(sync, O_CLOEXEC) != 0) return -1;
  pid_t tid = b.procs[i].pid;
  clone_args args{};
  args.exit_signal = SIGCHLD;
  args.set_tid = reinterpret_cast<uint64_t>(&tid);
  args.set_tid_size = 1;
  const long r = ::syscall(SYS_clone3, &args, sizeof args);
  if (r == 0) {
    ::close(sync[0]);
    run_process(b, i, sync[1]);
  }
  const int err = errno;
  ::close(sync[1]);
  char c = 0;
  ssize_t n = -1;
  while (r > 0 && (n = ::read(sync[0], &c, 1)) < 0 && errno == EINTR) {
  }
  ::close(sync[0]);
  if (r < 0) {
    errno = err;
    return -1;
  }
  if (n != 1) {  // it failed and said why
    errno = ECHILD;
    return -1;
  }
  if (b.procs[i].zombie) {
    siginfo_t info{};
    while (::waitid(P_PID, static_cast<id_t>(r), &info, WEXITED | WNOWAIT) != 0 && errno == EINTR) {
    }
  }
  if (b.procs[i].helper) {  // reaped before this process is restored: the job never sees it
    int status = 0;
    while (::waitpid(static_cast<pid_t>(r), &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {  // it said why
      errno = ECHILD;
      return -1;
    }
  }
  return static_cast<pid_t>(r);
}

void report_failure(const TreeBuild& b, pid_t pid, BuildStep step, int err) {
  const BuildReport r{pid, step, err};
  (void)!::write(b.report_w.get(), &r, sizeof r);
  ::_exit(127);
}

TreeBuild::TreeBuild(const TreeImage& tree, std::vector<FdPlan>& plans) {
  std::map<pid_t, size_t> index;
  for (size_t i = 0; i < tree.procs.size(); ++i) index[tree.procs[i].pid] = i;
  execs.reserve(tree.images.size());
  report_r = pipe_end(report_w);
  go_r = pipe_end(go_w);
  proc_fds = util::OwnedFd(::open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!proc_fds) throw RestoreError("cannot open /proc/self/fd: " + std::string(std::strerror(errno)));
  for (const auto& p : tree.procs) {
    BuildProcess bp{p.pid, p.pgid, p.sid, p.zombie, p.exit_status, false, false, false, p.children};
    bp.join_group = p.pgid != p.pid && index.count(p.pgid);
    if (p.image >= 0) {
      bp.img = &tree.images[p.image];
      bp.subreaper = bp.img->child_subreaper;
      bp.plan = &plans[p.image];
      execs.push_back(prepare_exec(*bp.img, *bp.plan, 0, proc_fds.get()));
      bp.exec = &execs.back();
      ++live;
    }
    procs.push_back(std::move(bp));
  }
  add_session_helpers(tree);
  const int high = highest_open_fd() + 1;
  for (auto& bp : procs)
    if (bp.exec) raise_exec_high(*bp.exec, *bp.plan, high);
}

// A process whose session leader has exited is created by a helper under the
// leader's pid, one per such session, in its place among its parent's
// children; a leader that is a zombie of the tree is the helper itself.
void TreeBuild::add_session_helpers(const TreeImage& tree) {
  std::map<pid_t, size_t> helper_of;  // session -> its helper's index in procs
  for (size_t i = 0; i < tree.procs.size(); ++i)
    if (tree.procs[i].zombie && tree.procs[i].sid == tree.procs[i].pid) helper_of[tree.procs[i].pid] = i;
  for (size_t i = 0; i < tree.procs.size(); ++i) {
    const pid_t sid = tree.procs[i].session_helper;
    if (!sid) continue;
    if (!helper_of.count(sid)) {
      BuildProcess h;
      h.pid = h.pgid = h.sid = sid;
      h.helper = true;
      helper_of[sid] = procs.size();
      procs.push_back(std::move(h));
    }
    const size_t h = helper_of[sid];
    std::vector<size_t>& siblings = procs[static_cast<size_t>(tree.procs[i].parent)].children;
    const auto at = std::find(siblings.begin(), siblings.end(), i);
    if (std::find(siblings.begin(), siblings.end(), h) == siblings.end()) *at = h;
    else siblings.erase(at);
    procs[h].children.push_back(i);
  }
}

void TreeBuild::started() {
  report_w.reset();
  go_r.reset();
}

void TreeBuild::wait_ready(pid_t init) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (size_t ready = 0; ready < live;) {
    pollfd p{report_r.get(), POLLIN, 0};
    const int n = ::poll(&p, 1, 200);
    if (n < 0 && errno != EINTR) throw RestoreError("poll: " + std::string(std::strerror(errno)));
    if (n <= 0) {
      siginfo_t info{};
      if (::waitid(P_PID, static_cast<id_t>(init), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == init)
        throw RestoreError("the tree's init ended before its processes were created");
      if (std::chrono::steady_clock::now() > deadline)
        throw RestoreError("the tree's processes were not created within 60 s");
      continue;
    }
    BuildReport r;
    const ssize_t got = ::read(report_r.get(), &r, sizeof r);
    if (got != sizeof r) throw RestoreError("the tree's processes ended before they were all created");
    if (r.step != BuildStep::Ready)
      throw RestoreError("process " + std::to_string(r.pid) + " could not " + step_name(r.step) + ": " +
                         std::strerror(r.err));
    ++ready;
  }
}

void TreeBuild::go() {
  const std::vector<char> bytes(live, 'g');
  if (::write(go_w.get(), bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size()))
    throw RestoreError("cannot let the tree's processes go: " + std::string(std::strerror(errno)));
  go_w.reset();
}

}  // namespace ckptsim::restart
