// `ckptsim experiment --slurm` on a two-node local Slurm of its own (directory
// and ports apart from the "slurm" fixture's and test_slurm_nodes'): cases I,
// III, IV and V at two small orders, every job a batch job whose node is set
// down at its drawn time; every row has real and simulated figures and the
// scheduler's requeue cost was measured. Then its refusals of bad input,
// among them a shared directory one node does not share (that node's slurmd
// in a mount namespace of its own with a tmpfs over it: start --private-dir).
// Skipped (one line) when not root: slurmd must run as root.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "local_cluster.h"
#include "test_helpers.h"

using namespace ckpttest;

namespace {

const std::string kProfile = std::string(CKPTSIM_SOURCE_DIR) + "/data/profiles/this-machine.json";

int lines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

}  // namespace

TEST_CASE("experiment --slurm: cases I, III, IV and V as batch jobs whose nodes fail, against the simulator") {
  if (!can_run_local_slurm()) return;
  TempDir t;
  LocalCluster cluster(t / "cluster", 7937);
  const CmdResult started = cluster.start(2);
  INFO(started.out << started.err);
  REQUIRE(started.status == 0);
  fs::create_directories(t / "shared");
  // One job per node and replication, most of them doomed: every failing case
  // requeues a job or two per replication (each waits ~10 s in the local
  // Slurm's queue), which keeps this to a few minutes on two cores.
  const CmdResult r = cluster.ckptsim(
      "experiment --slurm --shared-dir " + shell_quote((t / "shared").string()) +
      " --sizes 700,900 --case I,III,IV,V --jobs-per-node 1 --replications 2 --failure-rate 0.7 --seed 3"
      " --checkpoint-at 0.3 --reboot-s 1 --format json --profile " + kProfile);
  INFO(r.err);
  REQUIRE(r.status == 0);
  const nlohmann::json j = nlohmann::json::parse(r.out);
  const auto& rows = j["rows"];
  REQUIRE(rows.size() == 2 * 4);  // shown: two orders x I, III, IV, V (II runs unshown for IV and V)
  long kills = 0;
  for (const auto& row : rows) {
    INFO(row.dump());
    CHECK(row["real_replication_means_s"].size() == 2);
    CHECK(row["real_mean_s"].get<double>() > 0);
    CHECK(row["sim_mean_s"].get<double>() > 0);
    kills += row["real_kills"].get<long>();
    if (row["case"] == "I") CHECK(row["real_kills"] == 0);
  }
  CHECK(kills > 0);
  // A node set down requeued its job (one that completed in the same instant
  // is not requeued), whose wait was measured and fed to the simulator, per case.
  const long requeues = j["scheduler"]["requeues"].get<long>();
  CHECK(requeues > 0);
  CHECK(requeues <= kills);
  CHECK(j["scheduler"]["queue_wait_mean_s"].get<double>() > 0);
  CHECK(j["parameters"]["requeue_delay_s"] == j["scheduler"]["queue_wait_mean_s"]);
  CHECK(j["parameters"]["slurm"]["requeue_delay_by_case_s"] == j["scheduler"]["queue_wait_mean_by_case_s"]);
  CHECK(j["parameters"]["slurm"]["nodes"] == nlohmann::json({"n1", "n2"}));
  // Nothing of the experiment left queued, no node left down, the shared directory clean.
  CHECK(cluster.sh("squeue -h -o %i") == "");
  CHECK(cluster.sh("sinfo -h -N -o '%N %T'") == "n1 idle\nn2 idle\n");
  CHECK(fs::is_empty(t / "shared"));
}

TEST_CASE("experiment --slurm: bad input is one line, exit 2, nothing of the experiment submitted") {
  if (!can_run_local_slurm()) return;
  TempDir t;
  const std::string small = " --sizes 300 --replications 1 --profile " + kProfile;
  SECTION("no cluster") {
    LocalCluster none(t / "none", 7947);  // never started
    const CmdResult r = none.ckptsim("experiment --slurm --case I" + small);
    INFO(r.err);
    CHECK(r.status == 2);
    CHECK(lines(r.err) == 1);
    CHECK((r.err.find("no Slurm cluster") != std::string::npos ||
           r.err.find("no Slurm controller answers") != std::string::npos));
  }
  SECTION("on a cluster") {
    LocalCluster cluster(t / "cluster", 7957);
    const CmdResult started = cluster.start(2);
    INFO(started.out << started.err);
    REQUIRE(started.status == 0);
    cluster.sh("scontrol create partitionname=solo nodes=n1 state=up");
    auto refused = [&](const std::string& args, const std::string& says) {
      const CmdResult r = cluster.ckptsim("experiment --slurm" + small + " " + args);
      INFO(args << ": " << r.err);
      CHECK(r.status == 2);
      CHECK(lines(r.err) == 1);
      CHECK(r.err.find(says) != std::string::npos);
      CHECK(cluster.sh("squeue -h -o %j") == "");
    };
    refused("--case V --partition solo", "case V moves a job to another node and needs at least 2");
    refused("--case I --partition nowhere", "partition nowhere does not exist");
    refused("--case V --nodes 3", "fewer than the 3 asked for");
    refused("--case V --shared-dir " + shell_quote((t / "missing").string()), "is not a directory");
    // A directory no one can create a file in (root included): procfs.
    refused("--case V --shared-dir /proc/1", "is not writable");
    refused("--case V --copy local", "excludes");
  }
}

// Every node of the local cluster sees the host's disk, so the directory is
// made unshared for one node: its slurmd (and its jobs) in a mount namespace
// with an empty tmpfs over it. Writer on n1 and reader on n2 are the probe's
// two jobs; either one not seeing the directory is refused.
TEST_CASE("experiment --slurm: a shared directory one node does not see is one line naming it and the node, only the probe submitted") {
  if (!can_run_local_slurm()) return;
  TempDir t;
  const fs::path shared = t / "shared";
  fs::create_directories(shared);
  std::ofstream(shared / "written-on-host") << "host\n";
  const std::string small = " --sizes 300 --replications 1 --profile " + kProfile;
  const auto [node, other, says] = GENERATE(table<std::string, std::string, std::string>({
      {"n2", "n1", "is not shared: a file written there by a job on node n1 is not seen by a job on node n2"},
      {"n1", "n2", "is not shared: a directory made there on this host is not seen by a job on node n1"},
  }));
  INFO("private on " << node);
  LocalCluster cluster(t / ("cluster-" + node), 7967);
  const CmdResult started = cluster.start(2, " --private-dir " + node + ":" + shell_quote(shared.string()));
  INFO(started.out << started.err);
  REQUIRE(started.status == 0);
  // The setup itself: a job on the private node sees an empty directory, one
  // on the other node the host's file (a job step is in its slurmd's namespace).
  auto ls_on = [&](const std::string& n) { return cluster.sh("srun -J private-check -w " + n + " ls -A " + shell_quote(shared.string())); };
  REQUIRE(ls_on(node) == "");
  REQUIRE(ls_on(other) == "written-on-host\n");

  const CmdResult r =
      cluster.ckptsim("experiment --slurm --case I,V" + small + " --shared-dir " + shell_quote(shared.string()));
  INFO(r.out << r.err);
  CHECK(r.status == 2);
  CHECK(lines(r.err) == 1);
  CHECK(r.err.find("--shared-dir " + shared.string() + " " + says) != std::string::npos);
  CHECK(r.out == "");
  // Nothing left queued; the only jobs ever submitted: the two checks above and
  // the probe's two jobs (the local cluster keeps finished jobs 600 s).
  CHECK(cluster.sh("squeue -h -o %i") == "");
  CHECK(cluster.sh("scontrol -o show jobs | grep -o 'JobName=[^ ]*' | sort") ==
        "JobName=ckptsim-shared-probe\nJobName=ckptsim-shared-probe\nJobName=private-check\nJobName=private-check\n");
  // The probe cleaned up after itself on the host's side.
  CHECK(cluster.sh("ls -A " + shell_quote(shared.string())) == "written-on-host\n");
}
