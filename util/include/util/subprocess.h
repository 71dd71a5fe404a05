// Child processes (a job, the receiver, `ip`/`tc`/`gnuplot`, sbatch), started
// by their argv: no shell, so a quote or a space in a path is just a character.
// Every child is owned by a ChildProcess, which kills and reaps it when it goes
// out of scope, so no error path or Ctrl-C leaves one behind.
#pragma once
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace ckptsim::util {

struct SpawnSpec {
  std::vector<std::string> argv;            // argv[0] looked up on PATH if it has no '/'
  std::vector<std::string> extra_env;       // "NAME=value", added to (or replacing in) our environment
  std::string stdin_path = "/dev/null";
  std::string stdout_path = "/dev/null";    // ignored when stdout_fd >= 0
  std::string stderr_path = "/dev/null";    // ignored when stderr_fd >= 0
  int stdout_fd = -1;                       // e.g. the write end of a pipe
  int stderr_fd = -1;
  bool own_process_group = true;            // Ctrl-C on the terminal reaches only us; we clean up
  bool die_with_parent = true;              // PR_SET_PDEATHSIG(SIGKILL): never outlive a killed calibrate
  std::string cgroup_procs;                 // a cgroup's cgroup.procs: the child joins it before exec
};

class ChildProcess {
 public:
  ChildProcess() = default;
  explicit ChildProcess(pid_t pid) : pid_(pid) {}
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ChildProcess(ChildProcess&& o) noexcept;
  ChildProcess& operator=(ChildProcess&& o) noexcept;
  ~ChildProcess();

  pid_t pid() const { return pid_; }
  bool valid() const { return pid_ > 0; }
  // Shell-style status (exit code or 128+signal) once it has ended, else nullopt.
  std::optional<int> try_wait();
  // Waits until it ends (polling the stop flag is the caller's business).
  int wait();
  // SIGTERM, a grace period, then SIGKILL; reaps. No-op once reaped.
  void terminate(std::chrono::milliseconds grace = std::chrono::milliseconds(0));
  std::optional<int> status() const { return status_; }

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
};

// fork + exec; throws std::runtime_error (one line) if the program cannot be started.
ChildProcess spawn(const SpawnSpec& spec);

struct CommandResult {
  int status = -1;     // shell-style
  std::string output;  // stdout and stderr together
};
// Runs a short command to completion, capturing its output.
CommandResult run_command(const std::vector<std::string>& argv);

// Shell-style status from a waitpid status word.
int shell_status(int wstatus);

// The last non-empty line of a child's log ("" if none): what it said last.
std::string last_line(const std::filesystem::path& log);

}  // namespace ckptsim::util
