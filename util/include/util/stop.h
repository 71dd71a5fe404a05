// Ctrl-C for long work (calibrate, receive, experiment, sweep): SIGINT (and
// SIGTERM where asked) only set a flag; loops poll it and unwind, so that
// destructors kill children and remove scratch directories. The flag is the
// one piece of global mutable state we allow: a signal handler can do no more.
// util is a static library: the ckptsim executable and the sim plugin
// (libckptsim-sim.so, loaded RTLD_LOCAL) each hold their own flag, so a
// handler must be installed on the side that polls it (today: calibrate and
// receive in the executable, experiment and sweep in the plugin).
#pragma once
#include <csignal>

namespace ckptsim::util {

// For the whole run: SIGINT and SIGTERM set the flag (no SA_RESTART, so a
// blocking call returns EINTR and the loop around it notices).
void install_stop_handlers();
bool stop_requested();

// For one stretch of work: while it lives, SIGINT sets the (first cleared)
// flag; afterwards SIGINT does again what it did before.
class StopOnSigint {
 public:
  StopOnSigint();
  ~StopOnSigint();
  StopOnSigint(const StopOnSigint&) = delete;
  StopOnSigint& operator=(const StopOnSigint&) = delete;

 private:
  struct sigaction old_ {};
};

}  // namespace ckptsim::util
