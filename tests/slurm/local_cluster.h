// A one-host Slurm cluster of one test (scripts/slurm-local.sh start --nodes
// N): its directory and ports apart from the "slurm" fixture's and from other
// tests' clusters; stopped by the script (which stops what it started, by
// pid) however the test ends.
#pragma once
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "test_helpers.h"

namespace ckpttest {

// False, with one line on stderr, where a local cluster cannot run: slurmd
// must be root to run jobs as their users.
inline bool can_run_local_slurm() {
  if (::geteuid() == 0) return true;
  std::fprintf(stderr, "skipped: the local Slurm needs root (slurmd runs jobs as their users)\n");
  return false;
}

class LocalCluster {
 public:
  LocalCluster(const fs::path& dir, int port)
      : dir_(dir),
        env_("CKPTSIM_SLURM_DIR=" + shell_quote(dir.string()) + " CKPTSIM_SLURM_PORT=" + std::to_string(port) + " ") {}
  ~LocalCluster() { run_shell(env_ + script() + " stop"); }
  LocalCluster(const LocalCluster&) = delete;
  LocalCluster& operator=(const LocalCluster&) = delete;

  CmdResult start(int nodes, const std::string& more = "") {
    return run_shell(env_ + script() + " start --nodes " + std::to_string(nodes) + more);
  }
  CmdResult stop() { return run_shell(env_ + script() + " stop"); }
  // ckptsim against this cluster, found as a user would: by its directory.
  CmdResult ckptsim(const std::string& args) const {
    return run_shell("env -u SLURM_CONF CKPTSIM_SLURM_DIR=" + shell_quote(dir_.string()) + " " + kCkptsim + " " + args);
  }
  // A Slurm command against this cluster; its stdout.
  std::string sh(const std::string& cmd) const { return run_shell(env() + cmd).out; }
  // "SLURM_CONF=... ": the prefix a shell line needs to talk to this cluster.
  std::string env() const { return "SLURM_CONF=" + shell_quote((dir_ / "slurm.conf").string()) + " "; }
  // JobState of `scontrol show job`, "" once Slurm forgot the job.
  std::string job_state(const std::string& id) const {
    const std::string out = sh("scontrol -o show job " + id + " 2>/dev/null");
    const size_t at = out.find("JobState=");
    if (at == std::string::npos) return "";
    return out.substr(at + 9, out.find(' ', at) - at - 9);
  }
  int pid_of(const std::string& daemon) const {
    std::ifstream in(dir_ / (daemon + ".pid"));
    int pid = 0;
    in >> pid;
    return pid;
  }

 private:
  static std::string script() { return std::string(CKPTSIM_SOURCE_DIR) + "/scripts/slurm-local.sh"; }
  fs::path dir_;
  std::string env_;
};

}  // namespace ckpttest
