// The processes that rebuild a tree (build_tree.cpp) and the init they run
// under (pid_namespace.cpp): everything they need is prepared here, in the
// restarter, before the first fork, so after it they only make system calls.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <vector>

#include "exec_program.h"
#include "tree.h"
#include "util/owned_fd.h"

namespace ckptsim::restart {

struct BuildProcess {
  pid_t pid = 0, pgid = 0, sid = 0;  // as recorded: the pid is given back with clone3's set_tid
  bool zombie = false;
  int exit_status = 0;
  bool join_group = false;  // setpgid to pgid: its leader is an earlier process of the tree
  bool subreaper = false;   // a child subreaper before it creates its children (its image says so)
  // Not of the tree: a session helper (TreeProcess::session_helper) that
  // creates its children and exits; its creator reaps it.
  bool helper = false;
  std::vector<size_t> children;
  const Image* img = nullptr;  // a live process's image, plan and exec
  FdPlan* plan = nullptr;
  ExecPrep* exec = nullptr;
};

// What a builder (or init) tells the restarter: ready, or the step that failed.
enum class BuildStep : int32_t { Ready, Session, Group, Create, Mount, Proc, Subreaper };
struct BuildReport {
  int32_t pid = 0;  // in the tree's namespace
  BuildStep step = BuildStep::Ready;
  int32_t err = 0;
};

class TreeBuild {
 public:
  TreeBuild(const TreeImage& tree, std::vector<FdPlan>& plans);
  TreeBuild(const TreeBuild&) = delete;
  TreeBuild& operator=(const TreeBuild&) = delete;

  // In the restarter, once init runs: our copies of the builders' pipe ends go.
  void started();
  // Until every live process's builder is ready; RestoreError naming the first
  // failure, or init's end.
  void wait_ready(pid_t init);
  // Every builder may exec its program.
  void go();

  std::vector<BuildProcess> procs;  // tree order, then the session helpers
  std::vector<ExecPrep> execs;
  util::OwnedFd report_r, report_w, go_r, go_w;
  util::OwnedFd proc_fds;  // our /proc/self/fd, handed to each program (FdPlan::proc_fds_in_child)
  size_t live = 0;

 private:
  void add_session_helpers(const TreeImage& tree);
};

// In init or a builder: procs[i] under its recorded pid, with its session and
// group set, and (a zombie) exited; -1 with errno when it could not be made.
pid_t create_process(const TreeBuild& b, size_t i);
// In init or a builder: tell the restarter what failed, and exit.
[[noreturn]] void report_failure(const TreeBuild& b, pid_t pid, BuildStep step, int err);

// pid_namespace.cpp, in the restarter: the tree's init, pid 1 of a new PID and
// mount namespace with its own /proc, which creates the root. Returns its pid.
// Not root: in a user namespace of its own.
pid_t start_init(const TreeBuild& b);

}  // namespace ckptsim::restart
