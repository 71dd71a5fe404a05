// Jobs of several processes, tried as a user would: a script run once
// uninterrupted, then under `ckptsim run`, checkpointed once its progress file
// holds 40 % of the uninterrupted run's bytes, every process of the job
// SIGKILLed at 60 %, and restored twice from that image. Each restore must end
// with the uninterrupted run's exit status and output, or fail loudly (one
// line, non-zero) where the case allows it: never a silent wrong result.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "harness.h"

namespace restart_test {

struct TreeJob {
  std::vector<std::string> argv;   // run in the job's directory
  std::string script;              // written to job.sh there (when not empty)
  std::string progress = "out";    // a file that grows steadily while the job runs
  std::vector<std::string> outputs{"out"};
  bool sort_lines = false;         // outputs written by parallel workers in any order
  bool may_refuse = false;         // a loud refusal (checkpoint or restart) is an allowed outcome
  // After each restore that ran to its end: what else must hold (`root`: the job's first process's pid).
  std::function<void(const fs::path& cwd, pid_t root)> check_restored;
};

// What happened, for the test to say.
enum class TreeOutcome { restored, refused_at_checkpoint, refused_at_restart };
TreeOutcome check_tree_job(const TreeJob& job);

// The job's processes: `root` and every descendant (by parent pid, /proc).
std::vector<pid_t> job_processes(pid_t root);
// SIGSTOPs them until no new one appears, then SIGKILLs them all.
void kill_job_tree(Job& job);

}  // namespace restart_test
