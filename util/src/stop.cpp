#include "util/stop.h"

namespace ckptsim::util {

namespace {
volatile std::sig_atomic_t g_stop = 0;  // the allowed exception: set by a signal handler
extern "C" void on_stop_signal(int) { g_stop = 1; }

struct sigaction stop_action() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;
  return sa;
}
}  // namespace

void install_stop_handlers() {
  const struct sigaction sa = stop_action();
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

bool stop_requested() { return g_stop != 0; }

StopOnSigint::StopOnSigint() {
  g_stop = 0;
  const struct sigaction sa = stop_action();
  sigaction(SIGINT, &sa, &old_);
}

StopOnSigint::~StopOnSigint() { sigaction(SIGINT, &old_, nullptr); }

}  // namespace ckptsim::util
