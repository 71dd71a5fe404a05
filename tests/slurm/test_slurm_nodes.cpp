// A one-host Slurm with several nodes (scripts/slurm-local.sh start --nodes
// N): one slurmd per node, each pinned to a core; the scheduler moves a
// requeued job off a node that went down; stop ends every daemon it started.
// This cluster is its own (directory and ports apart from the "slurm"
// fixture's). Skipped (one line) when not root: slurmd must run as root.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include "local_cluster.h"
#include "sized_job.h"
#include "test_helpers.h"

using namespace ckpttest;

namespace {

const std::string kScript = std::string(CKPTSIM_SOURCE_DIR) + "/scripts/slurm-local.sh";

std::vector<std::string> lines_of(const fs::path& file) {
  std::istringstream in(read_file(file));
  std::vector<std::string> v;
  for (std::string line; std::getline(in, line);) v.push_back(line);
  return v;
}

bool eventually(const std::function<bool()>& ok, double seconds) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (ok()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return ok();
}

std::string cpus_allowed(int pid) {
  std::istringstream in(read_file("/proc/" + std::to_string(pid) + "/status"));
  for (std::string line; std::getline(in, line);)
    if (line.rfind("Cpus_allowed_list:", 0) == 0) return line.substr(line.find_first_not_of(" \t", 18));
  return "";
}

}  // namespace

TEST_CASE("slurm nodes: three nodes on one host, a job on n2 goes down with it and the scheduler runs it on another node") {
  if (!can_run_local_slurm()) return;
  TempDir t;
  LocalCluster cluster(t / "cluster", 7917);
  const CmdResult started = cluster.start(3);
  INFO(started.out << started.err);
  REQUIRE(started.status == 0);
  CHECK(cluster.sh("sinfo -h -N -o '%N %T'") == "n1 idle\nn2 idle\nn3 idle\n");
  // Each node's slurmd runs on a core of its own (in turn, on a 2-core machine).
  const int cores = static_cast<int>(::sysconf(_SC_NPROCESSORS_ONLN));
  for (int n = 1; n <= 3; ++n) {
    const int pid = cluster.pid_of("slurmd-n" + std::to_string(n));
    REQUIRE(pid > 0);
    CHECK(cpus_allowed(pid) == std::to_string((n - 1) % cores));
  }

  // A job that notes the node it starts on, then waits.
  const fs::path where = t / "where.txt", job = t / "job.sh";
  std::ofstream(job) << "#!/bin/sh\necho \"$SLURMD_NODENAME\" >> " << shell_quote(where.string()) << "\nsleep 600\n";
  fs::permissions(job, fs::perms::owner_all);
  std::string id = cluster.sh("sbatch --parsable --requeue -w n2 -o /dev/null " + shell_quote(job.string()));
  id = id.substr(0, id.find_first_of(";\n"));
  REQUIRE(!id.empty());
  REQUIRE(eventually([&] { return lines_of(where) == std::vector<std::string>{"n2"}; }, 60));

  // n2 fails: the job is requeued; told to avoid n2, it runs on n1 or n3.
  cluster.sh("scontrol update nodename=n2 state=down reason=ckptsim-test");
  cluster.sh("scontrol update jobid=" + id + " ReqNodeList= ExcNodeList=n2");
  REQUIRE(eventually([&] { return lines_of(where).size() == 2; }, 90));
  const std::string second = lines_of(where)[1];
  CHECK((second == "n1" || second == "n3"));
  cluster.sh("scancel " + id);

  // stop ends every daemon it started, each by its pid.
  std::vector<int> pids;
  for (const char* d : {"slurmd-n1", "slurmd-n2", "slurmd-n3", "slurmctld", "munged"}) pids.push_back(cluster.pid_of(d));
  REQUIRE(cluster.stop().status == 0);
  for (int pid : pids) CHECK(::kill(pid, 0) != 0);
}

TEST_CASE("slurm nodes: a checkpointed job on n2 goes down with it, is requeued onto another node and resumes there from its image, byte-identical") {
  if (!can_run_local_slurm()) return;
  TempDir t;
  const auto [order, expected] = sized_job(t, 2500, 8);
  LocalCluster cluster(t / "cluster", 7977);
  const CmdResult started = cluster.start(3);
  INFO(started.out << started.err);
  REQUIRE(started.status == 0);

  // The batch script notes the node of each start, then runs the job under
  // `run --resume`: afresh the first time, from the newest image after a
  // requeue. Its images go to a directory every node sees (one host: the
  // same file system, as a cluster's shared directory).
  const fs::path where = t / "where.txt", img = t / "img", log = t / "run.log", out = t / "out.bin";
  const fs::path job = t / "job.sh";
  std::ofstream(job) << "#!/bin/sh\necho \"$SLURMD_NODENAME\" >> " << shell_quote(where.string()) << "\nexec " << kCkptsim
                     << " run --resume --dir " << shell_quote(img.string()) << " --interval 1 -- " << kMatmul << " --n "
                     << order << " --out " << shell_quote(out.string()) << " --progress 2>> " << shell_quote(log.string())
                     << "\n";
  fs::permissions(job, fs::perms::owner_all);
  std::string id = cluster.sh("sbatch --parsable --requeue -w n2 -o /dev/null " + shell_quote(job.string()));
  id = id.substr(0, id.find_first_of(";\n"));
  REQUIRE(!id.empty());
  REQUIRE(eventually([&] { return lines_of(where) == std::vector<std::string>{"n2"}; }, 60));
  // An image at least, and about half the rows done; then n2 fails.
  REQUIRE(wait_for_images(img, 1, std::chrono::seconds(300)));
  const std::string half = "row " + std::to_string(order / 2 / 64 * 64) + "/";
  REQUIRE(eventually([&] { return read_file(log).find(half) != std::string::npos; }, 300));
  cluster.sh("scontrol update nodename=n2 state=down reason=ckptsim-test");
  // Slurm takes the job off n2 (requeued: pending again), then it may run
  // anywhere but n2.
  REQUIRE(eventually([&] { return cluster.job_state(id) != "RUNNING"; }, 60));
  cluster.sh("scontrol update jobid=" + id + " ReqNodeList= ExcNodeList=n2");

  REQUIRE(eventually([&] { return cluster.job_state(id) == "COMPLETED"; }, 600));
  const std::vector<std::string> nodes = lines_of(where);
  INFO(read_file(log));
  REQUIRE(nodes.size() == 2);
  CHECK((nodes[1] == "n1" || nodes[1] == "n3"));
  CHECK(read_file(log).find("resumed from " + img.string()) != std::string::npos);
  CHECK(read_file(out) == expected);
}

TEST_CASE("slurm nodes: --nodes that is not a count is refused in one line, starting nothing") {
  TempDir t;
  for (const char* bad : {"0", "-1", "x", "100"}) {
    const CmdResult r = run_shell("CKPTSIM_SLURM_DIR=" + shell_quote((t / "c").string()) + " " + kScript +
                                  " start --nodes " + bad);
    INFO(bad << ": " << r.err);
    CHECK(r.status != 0);
    CHECK(r.err.find("--nodes takes a count from 1 to 99") != std::string::npos);
    CHECK(!fs::exists(t / "c" / "slurm.conf"));
  }
}

TEST_CASE("slurm nodes: --private-dir that names no node of the cluster or no directory is refused in one line, starting nothing") {
  TempDir t;
  const std::string dir = t.path().string();
  const std::pair<std::string, std::string> cases[] = {
      {"--nodes 2 --private-dir x", "--private-dir takes NODE:PATH"},
      {"--nodes 2 --private-dir n2:relative", "--private-dir takes NODE:PATH"},
      {"--nodes 2 --private-dir n3:" + dir, "no node n3 among n1..n2"},
      {"--private-dir n1:" + dir, "needs --nodes 2 or more"},
      {"--nodes 2 --private-dir n2:" + dir + "/missing", "is not a directory"},
  };
  for (const auto& [args, says] : cases) {
    const CmdResult r = run_shell("CKPTSIM_SLURM_DIR=" + shell_quote((t / "c").string()) + " " + kScript + " start " + args);
    INFO(args << ": " << r.err);
    CHECK(r.status != 0);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK(r.err.find(says) != std::string::npos);
    CHECK(!fs::exists(t / "c" / "slurm.conf"));
  }
}
