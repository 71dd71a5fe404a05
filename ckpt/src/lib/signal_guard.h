// Keeping the checkpoint signal deliverable whatever the job does with its
// signals (signal_guard.cpp). Runtimes block every signal in their helper
// threads (node's inspector thread, the JVM's non-VM threads block SIGQUIT),
// wait for signals with sigwait or signalfd, or install their own handler for
// the same signal; each of these would keep a dump from stopping every thread.
#pragma once
#include <signal.h>

namespace ckptlib::signal_guard {

using SigactionFn = int (*)(int, const struct sigaction*, struct sigaction*);

// libc's own sigaction (the interposed one is ours).
SigactionFn real_sigaction();

// From now on `sig` is ours: the job can neither block it, wait for it nor
// replace its handler; it still reads back what it asked for. Called once by
// the library's constructor, after our handler is installed.
void guard(int sig);

}  // namespace ckptlib::signal_guard
