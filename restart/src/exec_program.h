// Becoming the image's program: descriptors at their numbers, the owner's
// identity, exec of the executable. Shared by spawn_child (one process, a
// PTRACE_TRACEME child) and build_tree (each builder of a tree, seized by the
// restarter). Everything is allocated before the fork: the child itself only
// makes system calls.
#pragma once
#include <string>
#include <vector>

#include "phases.h"
#include "util/owned_fd.h"

namespace ckptsim::restart {

struct ExecPrep {
  util::OwnedFd exe_memfd;  // the image's copy of the executable, when the original is gone
  std::vector<int> moved;   // scratch: where each of plan.opened is lifted to
  std::vector<char> keep;   // fd numbers below `high` the program keeps
  int high = 0;             // the core's number in the program; everything placed is below it
  int core_fd = -1;         // the verified core, in the caller
  int proc_fds = -1;        // the caller's /proc/self/fd, handed over at high + 1 (or -1)
  std::vector<std::string> args;
  std::vector<char*> argv;
};

// `min_high`: the core's number in the child is at least this (above every
// descriptor the child holds). Sets plan.core_in_child (and
// plan.proc_fds_in_child when `proc_fds` >= 0).
ExecPrep prepare_exec(const Image& img, FdPlan& plan, int min_high, int proc_fds = -1);
// The core's number raised to at least `high` (a tree's builders hold every
// process's descriptors, some opened after this one was prepared).
void raise_exec_high(ExecPrep& p, FdPlan& plan, int high);

// In the forked child (async-signal-safe only): with `traceme`,
// PTRACE_TRACEME first; then every descriptor of `plan` at its number, the
// owner's identity, and the exec. On failure the errno goes to err_fd (when
// >= 0) and the child exits 127.
[[noreturn]] void become_program(const Image& img, const FdPlan& plan, ExecPrep& p, int err_fd, bool traceme);

}  // namespace ckptsim::restart
