// Ctrl-C handling for long measurements: SIGINT/SIGTERM only set a flag (the one
// piece of global mutable state we allow); loops poll it and unwind, so that
// destructors clean up namespaces and child processes.
#pragma once

namespace ckptsim::calib {

// Installs handlers for SIGINT and SIGTERM that set the stop flag (no SA_RESTART,
// so a blocking call returns EINTR and the loop around it notices).
void install_stop_handlers();
bool stop_requested();
// For tests and for the receiver's --once exit path.
void request_stop();

}  // namespace ckptsim::calib
