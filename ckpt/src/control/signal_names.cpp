// Signal names for --signal and CKPT_SIGNAL.
#include <signal.h>
#include <string.h>
#include <strings.h>

#include <cctype>

#include "ckpt/control.h"
#include "ckpt/signal_rule.h"

namespace ckptsim::ckpt {

int parse_signal(const std::string& name) {
  const std::string accepted = std::string(" (accepted: ") + kCheckpointSignals + ")";
  if (name.empty()) throw CkptError("empty signal name" + accepted);
  int sig = 0;
  if (std::isdigit(static_cast<unsigned char>(name[0]))) {
    size_t used = 0;
    try {
      sig = std::stoi(name, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != name.size() || sig < 1 || sig > 64) throw CkptError("unknown signal '" + name + "'" + accepted);
  } else {
    const char* s = name.c_str();
    if (strncasecmp(s, "SIG", 3) == 0) s += 3;
    for (int i = 1; i < NSIG && !sig; ++i) {
      const char* abbrev = sigabbrev_np(i);
      if (abbrev && strcasecmp(abbrev, s) == 0) sig = i;
    }
    if (!sig) throw CkptError("unknown signal '" + name + "'" + accepted);
  }
  if (!checkpoint_signal_ok(sig)) {
    const std::string why = sig == SIGKILL || sig == SIGSTOP ? "cannot be caught"
                            : sig == 32 || sig == 33        ? "is reserved by glibc"
                            : sig == SIGCHLD || sig == SIGCONT || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU
                                ? "is a job-control signal"
                                : "is a synchronous fault signal";
    throw CkptError("signal '" + name + "' " + why + ", so it cannot trigger checkpoints" + accepted);
  }
  return sig;
}

}  // namespace ckptsim::ckpt
