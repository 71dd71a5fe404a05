// Restoring a process tree (docs/restarting.md "Process trees"): everything
// verified and every descriptor opened first; then init and the builders
// recreate the processes under their pids; the restarter seizes each builder,
// lets them exec, restores each process with the single-process phases, and
// lets them all run only once every one is restored. Any failure kills init,
// which takes the whole namespace with it: nothing is left running.
#include <dirent.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "phase_clock.h"
#include "phases.h"
#include "tracee.h"
#include "tree.h"
#include "tree_build.h"

namespace ckptsim::restart {
namespace {

std::string ns_of(pid_t pid) {
  char buf[64] = {};
  const std::string link = "/proc/" + std::to_string(pid) + "/ns/pid";
  const ssize_t n = ::readlink(link.c_str(), buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

// The pid in its innermost namespace: the last field of NSpid.
pid_t innermost_pid(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("NSpid:", 0) != 0) continue;
    std::istringstream fields(line.substr(6));
    pid_t p = 0, last = 0;
    while (fields >> p) last = p;
    return last;
  }
  return 0;
}

// The tree's processes as we see them: pid in the tree -> pid here.
std::map<pid_t, pid_t> host_pids(pid_t init) {
  const std::string ns = ns_of(init);
  if (ns.empty()) throw RestoreError("the tree's init is gone");
  std::map<pid_t, pid_t> out;
  DIR* d = ::opendir("/proc");
  if (!d) throw RestoreError("cannot list /proc: " + std::string(std::strerror(errno)));
  while (dirent* e = ::readdir(d)) {
    const pid_t p = std::atoi(e->d_name);
    if (p > 0 && p != init && ns_of(p) == ns)
      if (const pid_t inner = innermost_pid(p)) out[inner] = p;
  }
  ::closedir(d);
  return out;
}

constexpr long kSeizeOptions =
    PTRACE_O_EXITKILL | PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC;

// Seized, it stops at PTRACE_EVENT_EXEC (not the SIGTRAP of a TRACEME child);
// a signal on the way is dropped.
void wait_exec_stop(pid_t host, pid_t pid) {
  for (;;) {
    int status = 0;
    if (::waitpid(host, &status, __WALL) < 0) {
      if (errno == EINTR) continue;
      throw RestoreError("waitpid on process " + std::to_string(pid) + ": " + std::strerror(errno));
    }
    if (WIFEXITED(status) || WIFSIGNALED(status))
      throw RestoreError("process " + std::to_string(pid) + " could not start its program");
    if (status >> 8 == (SIGTRAP | (PTRACE_EVENT_EXEC << 8))) return;
    if (::ptrace(PTRACE_CONT, host, nullptr, nullptr) != 0)
      throw RestoreError("ptrace on process " + std::to_string(pid) + ": " + std::strerror(errno));
  }
}

struct Restored {
  std::optional<Tracee> main;
  std::vector<Tracee> threads;
};

// Seize every builder, let them exec, and restore each with the phases of
// a single process, in tree order; `guards` kill them on any failure.
std::vector<Restored> restore_all(TreeBuild& b, pid_t init, std::vector<ChildGuard>& guards, PhaseClock& clock) {
  const std::map<pid_t, pid_t> host = host_pids(init);
  std::vector<std::pair<size_t, pid_t>> live;  // procs index, pid here
  for (size_t i = 0; i < b.procs.size(); ++i) {
    if (!b.procs[i].img) continue;
    auto it = host.find(b.procs[i].pid);
    if (it == host.end()) throw RestoreError("process " + std::to_string(b.procs[i].pid) + " is missing in the tree");
    guards.emplace_back(it->second);
    if (::ptrace(PTRACE_SEIZE, it->second, nullptr, reinterpret_cast<void*>(kSeizeOptions)) != 0)
      throw RestoreError("cannot seize process " + std::to_string(b.procs[i].pid) + ": " + std::strerror(errno));
    live.emplace_back(i, it->second);
  }
  clock.done("seize");
  b.go();
  std::vector<Restored> out(live.size());
  for (size_t k = 0; k < live.size(); ++k) {
    const BuildProcess& p = b.procs[live[k].first];
    wait_exec_stop(live[k].second, p.pid);
    Tracee& t = out[k].main.emplace(live[k].second);
    t.ns_pid = p.pid;
    // The exec event stops it inside execve's return: a single-step from there
    // traps at the syscall's exit before running anything, so the remote calls'
    // first step would not run its `syscall`. Leave the syscall first (it runs
    // at most the loader's first instruction, whose memory is about to go).
    t.resume_until_stop(PTRACE_SINGLESTEP);
    clock.done("exec");
    restore_memory(t, *p.img, *p.plan);
    clock.done("memory");
    restore_kernel_state(t, *p.img);
    restore_objects(t, *p.img);
    out[k].threads = create_threads(t, guards[k], *p.img);
    clock.done("kernel state");
  }
  return out;
}

}  // namespace

pid_t restore_tree(const RestartOptions& opts) {
  PhaseClock clock(opts.report_timing);
  TreeImage tree = read_tree_manifest(opts.image);
  verify_tree(tree, opts);
  TreeFdView view = tree_fd_view(tree);
  check_tree_fds(tree, view, opts.skip_unrestorable);
  clock.done("verify");
  // From here on the image is known good; what fails now is this machine.
  std::set<std::string> done;
  for (const auto& img : tree.images) prepare_files(img, done);
  std::vector<FdPlan> plans = plan_tree_fds(tree, view, opts.skip_unrestorable);
  clock.done("files");  // not an image name: the phase
  TreeBuild build(tree, plans);
  ChildGuard init(start_init(build));
  build.started();
  build.wait_ready(init.pid());
  clock.done("build");
  std::vector<ChildGuard> guards;
  guards.reserve(build.live);
  std::vector<Restored> restored = restore_all(build, init.pid(), guards, clock);
  size_t k = 0;
  for (const auto& p : build.procs) {
    if (!p.img) continue;
    resume(*restored[k].main, restored[k].threads, *p.img);
    ++k;
  }
  clock.done("resume");
  for (auto& g : guards) g.release();
  return init.release();
}

}  // namespace ckptsim::restart
