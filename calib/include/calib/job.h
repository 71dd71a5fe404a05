// The paper's job, ckpt-matmul, as a child we own: started (optionally under
// libckpt.so) with its stderr in a log file, so that a restored copy keeps
// writing to a regular file (a pipe or our terminal would not survive a restore).
#pragma once
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <string>

#include "util/subprocess.h"

namespace ckptsim::calib {

// The job died, failed to start, or never got ready. `killed` when a signal we
// did not send ended it (the OOM killer, typically).
struct JobFailed : std::runtime_error {
  bool killed = false;
  JobFailed(const std::string& m, bool k) : std::runtime_error(m), killed(k) {}
};

struct JobSpec {
  std::filesystem::path matmul;    // the ckpt-matmul executable
  int order = 0;
  std::filesystem::path out;       // --out FILE
  std::filesystem::path log;       // its stderr (--progress lines)
  std::filesystem::path ckpt_dir;  // empty: run without the checkpoint library
  std::filesystem::path libckpt;
  std::string ckpt_signal = "3";
  bool stop_when_ready = false;    // SIGSTOP it as soon as its matrices are ready
  int threads = 1;                 // --threads: rows multiplied by this many threads
  std::string cgroup_procs;        // non-empty: started inside that control group
  bool incremental = false;        // CKPT_INCREMENTAL=1: dumps after the first write what changed
  bool fork = false;               // CKPT_FORK=1: a forked copy writes each image
};

class MatmulJob {
 public:
  explicit MatmulJob(const JobSpec& spec);
  pid_t pid() const { return child_.pid(); }
  util::ChildProcess& process() { return child_; }
  // Until the log says "matrices ready" (then SIGSTOPs it if the spec says so). Throws JobFailed (died / timeout) or
  // std::runtime_error("interrupted") on Ctrl-C.
  void wait_ready(std::chrono::seconds timeout);
  // Until it exits; returns its shell-style status. Interrupted -> throws.
  int wait_exit(std::chrono::seconds timeout);
  void kill() { child_.terminate(); }

 private:
  JobSpec spec_;
  util::ChildProcess child_;
};

// Waits for any child process of ours we hold by pid (a restored job) to end.
int wait_child_exit(util::ChildProcess& child, std::chrono::seconds timeout);

}  // namespace ckptsim::calib
