// Starting a job under the checkpoint library and asking it for checkpoints.
// The library itself (libckpt.so) has no public C++ API: it is driven by
// environment variables and a signal, so that unmodified programs can use it.
#pragma once
#include <signal.h>
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "ckpt/image_format.h"

namespace ckptsim::ckpt {

struct CkptError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// "QUIT", "SIGQUIT", "quit" or "3" -> 3. Throws CkptError, naming the accepted
// signals, for an unknown name or one that cannot trigger checkpoints
// (checkpoint_signal_ok in ckpt/signal_rule.h).
int parse_signal(const std::string& name);

// An image directory's number: ckpt-NNNN -> NNNN; 0 for any other name (and
// for a number of more than 18 digits, which no dump writes).
unsigned long image_number(const std::string& name);

// True when process pid has a handler installed for sig (its SigCgt bit in
// /proc/PID/status): libckpt's constructor has run. False if it has none or is gone.
bool catches_signal(pid_t pid, int sig);

// Durations given on the command line (run --interval, checkpoint --timeout), in
// seconds: finite and within these bounds, so they convert to clock durations
// without overflow. A periodic interval below 0.1 ms would only stack up
// requests that the running dump folds into itself anyway.
inline constexpr double kMinIntervalS = 1e-4;
inline constexpr double kMaxDurationS = 1e6;  // about 11.6 days
// How long `run` waits for the job to install libckpt's handler before the first
// periodic signal; after that it says so and sends none.
inline constexpr double kHandlerWaitS = 10;

// libckpt.so next to the running ckptsim binary (or $CKPTSIM_LIB). Throws if absent.
std::filesystem::path find_libckpt();

// `run --interval auto`: the next interval (s of compute) after a dump that
// stopped the job cost_s seconds (cost_s < 0: none measured yet), and the words
// that say why, for the decision logged on stderr. The rule itself is the cost
// model's (models/interval.h); this library only measures and schedules.
struct IntervalRule {
  std::function<double(double cost_s)> next;
  std::function<std::string(double cost_s)> explain;
  explicit operator bool() const { return bool(next); }
};

struct RunOptions {
  std::filesystem::path dir = image_format::kDefaultDir;  // CKPT_DIR for the job
  int signal = 3;                             // SIGQUIT
  double interval_s = 0;                      // 0, or kMinIntervalS..kMaxDurationS: send the signal
                                              // periodically, only while the job catches it
  IntervalRule auto_interval;                 // set: interval_s is ignored, the rule chooses
  std::vector<std::string> argv;              // program and its arguments
  std::filesystem::path lib;                  // empty: find_libckpt()
  unsigned keep = 0;                          // CKPT_KEEP: complete images kept (the newest); 0: all
  bool fork = false;                          // CKPT_FORK: memory written by a forked copy
  bool incremental = false;                   // CKPT_INCREMENTAL: only pages changed since the parent image
  unsigned max_chain = 8;                     // CKPT_MAX_CHAIN: incremental images before a full one (>= 1)
  std::string dirty;                          // CKPT_DIRTY: auto, kernel, checksum ("": the library's default, auto)
  // SIGTERM (a scheduler's preemption or scancel) or the checkpoint signal sent
  // to `run` itself means: checkpoint now, wait for the image, kill the job and
  // return kExitCheckpointed. Without it SIGTERM is relayed to the job and the
  // checkpoint signal asks for a checkpoint (the job carries on).
  bool checkpoint_on_term = false;
};

// run's status after --checkpoint-on-term stopped the job with a complete image
// (EX_TEMPFAIL: "try again", from that image).
inline constexpr int kExitCheckpointed = 75;

// argv[0] as execvp would find it, absolute. Throws CkptError if it is missing.
std::filesystem::path resolve_program(const std::string& prog);

// Checks argv[0] (found on PATH, dynamically linked), prepares dir (0700, not empty) and
// starts the program with libckpt.so preloaded. Returns its pid. Throws CkptError.
pid_t spawn_preloaded(const RunOptions& opts);

// spawn_preloaded + supervise.
int run_preloaded(const RunOptions& opts);

// Follows a job that runs under libckpt.so and is a child of the caller (one
// spawn_preloaded started, or one restored from an image) until it ends:
// periodic checkpoint signals, SIGINT/SIGTERM relayed (or checkpoint_on_term),
// returns a shell-style exit status (the child's exit code, or 128+signal).
// SIGINT, SIGTERM, SIGCHLD and opts.signal must be blocked in the caller
// (RelayMask) before the job was started, so none is lost.
int supervise(pid_t pid, const RunOptions& opts);

// Blocks the signals supervise handles while it lives; old_mask() is the mask a
// job started meanwhile must get back (run_preloaded gives it to its child; a
// restored job gets its own from the image).
class RelayMask {
 public:
  explicit RelayMask(int checkpoint_signal);
  ~RelayMask();
  RelayMask(const RelayMask&) = delete;
  RelayMask& operator=(const RelayMask&) = delete;
  const sigset_t& old_mask() const { return old_; }

 private:
  sigset_t old_;
};

struct CheckpointResult {
  std::filesystem::path image;  // DIR/ckpt-NNNN, complete and renamed into place
  double seconds = 0;           // signal sent -> image complete
  bool was_stopped = false;     // the job was stopped (state T): continued for the dump, stopped again after it
};

// Sends the job's checkpoint signal (read from its environment) and, if wait,
// returns once a new image is complete. A stopped job (SIGSTOP, a scheduler's
// suspend) is continued for its dump and stops itself again after it (the
// library's side: signal_rule.h kStayStoppedRequest). Throws CkptError on failure/timeout and
// for a timeout outside (0, kMaxDurationS]. The pid of a restored tree's init
// (what `ckptsim restart` of a process tree returns) stands for the tree's root.
CheckpointResult request_checkpoint(pid_t pid, bool wait,
                                    std::chrono::milliseconds timeout = std::chrono::minutes(10));

}  // namespace ckptsim::ckpt
