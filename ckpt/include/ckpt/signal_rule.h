// Which signals may trigger checkpoints: shared by `ckptsim run --signal`,
// `ckptsim checkpoint` (via parse_signal) and libckpt.so's CKPT_SIGNAL, so the
// three never disagree. Header-only and free of the C++ runtime (the library is
// built without exceptions or RTTI and calls this from its constructor).
#pragma once
#include <signal.h>

namespace ckptsim::ckpt {

// Refused: signals that cannot be caught (KILL, STOP); synchronous faults, which
// the kernel raises again on the same instruction once the handler returns (SEGV,
// BUS, ILL, FPE, TRAP, SYS), so a faulting job would checkpoint for ever; job
// control and child signals, which the job and its shell rely on (CHLD, CONT,
// TSTP, TTIN, TTOU); and 32 and 33, which glibc reserves for its threads.
// Everything else from 1 to 64 is accepted.
constexpr bool checkpoint_signal_ok(int sig) {
  if (sig < 1 || sig > 64) return false;
  switch (sig) {
    case SIGKILL: case SIGSTOP:
    case SIGSEGV: case SIGBUS: case SIGILL: case SIGFPE: case SIGTRAP: case SIGSYS:
    case SIGCHLD: case SIGCONT: case SIGTSTP: case SIGTTIN: case SIGTTOU:
    case 32: case 33:
      return false;
    default:
      return true;
  }
}

// si_value (rt_sigqueueinfo, SI_QUEUE) of a checkpoint request for a job that
// was stopped (SIGSTOP, a scheduler's suspend) when asked: the sender continues
// it (SIGCONT) for the dump, and libckpt.so stops it again (SIGSTOP to itself)
// as soon as the dump no longer needs it running: after the fork for a forked
// dump (the writer, another process, writes on), after the commit in-process.
// Without it a forked dump's job computes while its image is written. The high
// half is not libckpt's tree-member magic ("CKPT"), so the two never mix.
inline constexpr unsigned long long kStayStoppedRequest = 0x53544f50ull;  // "STOP"

// For error messages: what checkpoint_signal_ok accepts.
inline constexpr const char* kCheckpointSignals =
    "HUP INT QUIT ABRT USR1 USR2 PIPE ALRM TERM STKFLT URG XCPU XFSZ VTALRM PROF WINCH POLL PWR, or 34-64";

}  // namespace ckptsim::ckpt
