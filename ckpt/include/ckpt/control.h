// Starting a job under the checkpoint library and asking it for checkpoints.
// The library itself (libckpt.so) has no public C++ API: it is driven by
// environment variables and a signal, so that unmodified programs can use it.
#pragma once
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace ckptsim::ckpt {

struct CkptError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// "QUIT", "SIGQUIT", "quit" or "3" -> 3. Throws CkptError for an unknown name.
int parse_signal(const std::string& name);

// libckpt.so next to the running ckptsim binary (or $CKPTSIM_LIB). Throws if absent.
std::filesystem::path find_libckpt();

struct RunOptions {
  std::filesystem::path dir = "ckpt-images";  // CKPT_DIR for the job
  int signal = 3;                             // SIGQUIT
  double interval_s = 0;                      // > 0: send the signal periodically
  std::vector<std::string> argv;              // program and its arguments
  std::filesystem::path lib;                  // empty: find_libckpt()
};

// Checks argv[0] (found on PATH, dynamically linked), prepares dir (0700) and
// starts the program with libckpt.so preloaded. Returns its pid. Throws CkptError.
pid_t spawn_preloaded(const RunOptions& opts);

// spawn_preloaded + periodic signals + wait; returns a shell-style exit status
// (the child's exit code, or 128+signal).
int run_preloaded(const RunOptions& opts);

struct CheckpointResult {
  std::filesystem::path image;  // DIR/ckpt-NNNN, complete and renamed into place
  double seconds = 0;           // signal sent -> image complete
};

// Sends the job's checkpoint signal (read from its environment) and, if wait,
// returns once a new image is complete. Throws CkptError on failure/timeout.
CheckpointResult request_checkpoint(pid_t pid, bool wait,
                                    std::chrono::milliseconds timeout = std::chrono::minutes(10));

}  // namespace ckptsim::ckpt
