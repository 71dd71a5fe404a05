// ckptsim finds the cluster scripts/slurm-local.sh started without SLURM_CONF
// exported, says which slurm.conf it used, and says in one line when there is
// none. A stand-in for the script's directory: its slurm.conf names a
// controller that does not answer, and a process called slurmctld (a copy of
// sleep) stands in for the daemon its pid file names.
#include <signal.h>
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <fstream>

#include "test_helpers.h"

using namespace ckpttest;

namespace {

const std::string kSweep = shell_quote(kCkptsim) + " sweep --sizes 1000 --interval 60,120 --replications 2 --slurm";

// The sweep run with SLURM_CONF unset and the local directory `dir`.
CmdResult sweep_with_local_dir(const fs::path& dir) {
  return run_shell("cd " + shell_quote(dir.string()) + " && env -u SLURM_CONF CKPTSIM_SLURM_DIR=" +
                   shell_quote(dir.string()) + " " + kSweep);
}

}  // namespace

TEST_CASE("slurm cluster: the local cluster's slurm.conf is found without SLURM_CONF, and named") {
  if (fs::exists("/etc/slurm/slurm.conf")) {
    WARN("skipped: this machine has a system slurm.conf, which comes first");
    return;
  }
  TempDir t;
  std::ofstream(t / "slurm.conf") << "ClusterName=nowhere\nSlurmctldHost=localhost\nSlurmctldPort=6998\nAuthType=auth/munge\n";

  const CmdResult none = sweep_with_local_dir(t.path());
  INFO(none.err);
  CHECK(none.status == 1);
  CHECK(std::count(none.err.begin(), none.err.end(), '\n') == 1);
  CHECK(none.err.find("no Slurm cluster: SLURM_CONF is not set") != std::string::npos);
  CHECK(none.err.find("no cluster started by scripts/slurm-local.sh runs in " + t.path().string()) != std::string::npos);

  fs::copy_file("/bin/sleep", t / "slurmctld");
  const pid_t daemon = fork();
  if (daemon == 0) {
    execl((t / "slurmctld").c_str(), "slurmctld", "120", static_cast<char*>(nullptr));
    _exit(127);
  }
  std::ofstream(t / "slurmctld.pid") << daemon << "\n";
  const CmdResult found = sweep_with_local_dir(t.path());
  ::kill(daemon, SIGKILL);
  ::waitpid(daemon, nullptr, 0);
  INFO(found.err);
  CHECK(found.status == 1);
  CHECK(std::count(found.err.begin(), found.err.end(), '\n') == 1);
  CHECK(found.err.find("no Slurm controller answers (tried `scontrol ping` with slurm.conf " +
                       (t / "slurm.conf").string() + " (the local cluster of scripts/slurm-local.sh))") !=
        std::string::npos);
}
