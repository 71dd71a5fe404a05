// Checkpointed jobs under a real Slurm (scripts/slurm-local.sh, started by the
// ctest fixture "slurm"): one batch script, `ckptsim run --resume`, survives a
// node failure and a time limit, and the result is byte-identical to an
// uninterrupted run. Skipped (one line) when not root: slurmd must run as root.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <algorithm>
#include <cmath>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <thread>

#include "sized_job.h"
#include "test_helpers.h"

using namespace ckpttest;

namespace {

using clock_type = std::chrono::steady_clock;

bool skip_unless_root() {
  if (::geteuid() == 0) return false;
  // (Catch2 v2 shows a WARN only with -s; this line always shows.)
  std::fprintf(stderr, "skipped: the local Slurm needs root (slurmd runs jobs as their users)\n");
  return true;
}

std::string host() {
  char name[256] = {};
  ::gethostname(name, sizeof name - 1);
  std::string h = name;
  return h.substr(0, h.find('.'));
}

std::string sh(const std::string& cmd) { return run_shell(cmd).out; }

// JobState=... of `scontrol show job`, "" once Slurm forgot the job.
std::string job_state(const std::string& id) {
  const std::string out = sh("scontrol -o show job " + id + " 2>/dev/null");
  const size_t at = out.find("JobState=");
  if (at == std::string::npos) return "";
  return out.substr(at + 9, out.find(' ', at) - at - 9);
}

bool wait_for_state(const std::string& id, const std::string& state, double seconds) {
  const auto end = clock_type::now() + std::chrono::duration<double>(seconds);
  while (clock_type::now() < end) {
    if (job_state(id) == state) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return false;
}

bool wait_contains(const fs::path& file, const std::string& text, double seconds) {
  const auto end = clock_type::now() + std::chrono::duration<double>(seconds);
  while (clock_type::now() < end) {
    if (read_file(file).find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

// The batch script every test submits: records each start, then becomes
// `ckptsim run --resume` of ckpt-matmul, its messages appended to run.log.
fs::path batch_script(const TempDir& t, int order, const std::string& run_options) {
  const fs::path script = t / "job.sh";
  std::ofstream(script) << "#!/bin/bash\n"
                        << "echo \"start $(date +%s.%N) restart=${SLURM_RESTART_COUNT:-0}\" >> " << (t / "starts.log")
                        << "\nexec " << kCkptsim << " run --dir " << (t / "img") << " --resume " << run_options
                        << " -- " << kMatmul << " --n " << order << " --out " << (t / "out.bin")
                        << " --progress 2>> " << (t / "run.log") << "\n";
  fs::permissions(script, fs::perms::owner_all);
  return script;
}

std::string sbatch(const TempDir& t, const std::string& options, const fs::path& script) {
  const CmdResult r = run_shell("sbatch --parsable --requeue -o " + (t / "slurm-%j.out").string() + " " + options +
                                " " + script.string());
  INFO(r.err);
  REQUIRE(r.status == 0);
  std::string id = r.out.substr(0, r.out.find_first_of(";\n"));
  REQUIRE(!id.empty());
  return id;
}

}  // namespace

TEST_CASE("a --requeue job whose node fails resumes from its last periodic image, byte-identical") {
  if (skip_unless_root()) return;
  TempDir t;
  const auto [order, expected] = sized_job(t, 3000, 10);  // a checkpoint every 2 s: several in its run
  const std::string id = sbatch(t, "", batch_script(t, order, "--interval 2"));
  // Two periodic images at least, whatever their numbers (--keep 2 rotates
  // them), and ~60 % of the rows; then the node "fails".
  REQUIRE(wait_for_images(t / "img", 2, std::chrono::seconds(300)));
  REQUIRE(wait_contains(t / "run.log", "row " + std::to_string(order * 6 / 10 / 64 * 64) + "/", 300));
  const auto failed = clock_type::now();
  REQUIRE(run_shell("scontrol update nodename=" + host() + " state=down reason=ckptsim-test").status == 0);
  std::this_thread::sleep_for(std::chrono::seconds(1));
  // ReturnToService=2 may already have brought it back (then `resume` is refused).
  if (sh("sinfo -h -n " + host() + " -o %T").rfind("down", 0) == 0)
    run_shell("scontrol update nodename=" + host() + " state=resume");
  REQUIRE(wait_contains(t / "run.log", "resumed from " + (t / "img").string(), 300));
  const double lost = std::chrono::duration<double>(clock_type::now() - failed).count();
  REQUIRE(wait_for_state(id, "COMPLETED", 600));
  const std::string starts = read_file(t / "starts.log");
  INFO(starts << read_file(t / "run.log"));
  CHECK(starts.find("restart=0") != std::string::npos);
  CHECK(starts.find("restart=1") != std::string::npos);
  CHECK(read_file(t / "out.bin") == expected);
  std::printf("slurm: node failure -> job running again from its image: %.1f s\n", lost);
}

TEST_CASE("a job warned before its time limit checkpoints, is requeued, resumes and completes") {
  if (skip_unless_root()) return;
  TempDir t;
  // Longer than the 30 s by which the warning has come, with room to spare.
  const auto [order, expected] = sized_job(t, 4300, 45);
  // Slurm sends the warning signal up to 60 s early (its timer resolution), so
  // QUIT@30 with a one-minute limit arrives 0-30 s into a run.
  const std::string id = sbatch(t, "--time=1 --signal=B:QUIT@30",
                                batch_script(t, order, "--checkpoint-on-term --requeue"));
  REQUIRE(wait_contains(t / "starts.log", "restart=1", 300));
  // Once requeued, give the job room: a second warning would only repeat the cycle.
  CHECK(run_shell("scontrol update jobid=" + id + " timelimit=30").status == 0);
  REQUIRE(wait_for_state(id, "COMPLETED", 600));
  const std::string log = read_file(t / "run.log");
  const std::string starts = read_file(t / "starts.log");
  INFO(starts << log);
  // No --interval: every image was written on the warning. (The line run prints
  // then is gone from run.log: the next restore puts the job's open files back
  // as they were at the checkpoint, run.log included.)
  CHECK(!image_names(t / "img").empty());
  CHECK(log.find("resumed from " + (t / "img").string()) != std::string::npos);
  CHECK(read_file(t / "out.bin") == expected);
}

TEST_CASE("sweep --slurm: 15 points as an array of 4 tasks plus a merge job print what the local run prints") {
  if (skip_unless_root()) return;
  TempDir t;
  const std::string sweep = shell_quote(kCkptsim) +
                            " sweep --sizes 1000,2000,3000 --interval 60:300:60 --nodes 2 --jobs-per-node 2"
                            " --replications 4 --seed 3";
  for (const std::string format : {"table", "csv"}) {
    const CmdResult local = run_shell("cd " + t.path().string() + " && " + sweep + " -q --format " + format);
    REQUIRE(local.status == 0);
    const CmdResult onslurm =
        run_shell("cd " + t.path().string() + " && " + sweep + " --format " + format + " --slurm --tasks 4");
    INFO(onslurm.err);
    CHECK(onslurm.status == 0);
    CHECK(onslurm.out == local.out);
    CHECK(onslurm.err.find("4/4 shards done") != std::string::npos);
  }
  // The work directory is removed after a success.
  for (const auto& e : fs::directory_iterator(t.path()))
    CHECK(e.path().filename().string().rfind("ckptsim-sweep-", 0) != 0);
}

TEST_CASE("sweep --slurm --no-wait returns at once with the job ids and the result arrives later") {
  if (skip_unless_root()) return;
  TempDir t;
  const CmdResult r = run_shell("cd " + t.path().string() + " && " + shell_quote(kCkptsim) +
                                " sweep --sizes 1000,2000 --interval 60:300:60 --nodes 2 --jobs-per-node 2"
                                " --replications 4 --slurm --tasks 2 --no-wait");
  INFO(r.err);
  CHECK(r.status == 0);
  CHECK(r.out.empty());
  CHECK(r.err.find("array job ") != std::string::npos);
  const size_t at = r.err.find("the result will be in ");
  REQUIRE(at != std::string::npos);
  const fs::path result = r.err.substr(at + 22, r.err.find('\n', at) - at - 22);
  CHECK(wait_contains(result, "best: order ", 120));
}

TEST_CASE("sweep --slurm refuses a partition that does not exist in one line naming the cluster's and submits nothing") {
  if (skip_unless_root()) return;
  TempDir t;
  const CmdResult r = run_shell("cd " + t.path().string() + " && " + shell_quote(kCkptsim) +
                                " sweep --sizes 1000 --interval 60,120 --replications 2 --slurm --partition nosuch");
  INFO(r.err);
  CHECK(r.status == 1);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  CHECK(r.err.find("partition nosuch does not exist (this cluster has: ") != std::string::npos);
  for (const auto& e : fs::directory_iterator(t.path()))
    CHECK(e.path().filename().string().rfind("ckptsim-sweep-", 0) != 0);
}

TEST_CASE("sweep --slurm with no reachable controller says in one line what it tried") {
  TempDir t;
  // A configuration whose controller is not running, and one that is not there.
  std::ofstream(t / "dead.conf") << "ClusterName=nowhere\nSlurmctldHost=localhost\nSlurmctldPort=6999\nAuthType=auth/munge\n";
  const std::string sweep = " " + shell_quote(kCkptsim) + " sweep --sizes 1000 --interval 60,120 --replications 2 --slurm";
  const CmdResult dead = run_shell("cd " + t.path().string() + " && SLURM_CONF=" + (t / "dead.conf").string() + sweep);
  INFO(dead.err);
  CHECK(dead.status == 1);
  CHECK(std::count(dead.err.begin(), dead.err.end(), '\n') == 1);
  CHECK(dead.err.find("no Slurm controller answers (tried `scontrol ping` with SLURM_CONF=" +
                      (t / "dead.conf").string() + ")") != std::string::npos);
  const CmdResult none = run_shell("cd " + t.path().string() + " && SLURM_CONF=/nonexistent/slurm.conf" + sweep);
  INFO(none.err);
  CHECK(none.status == 1);
  CHECK(none.err.find("no Slurm configuration at SLURM_CONF=/nonexistent/slurm.conf") != std::string::npos);
  for (const auto& e : fs::directory_iterator(t.path()))
    CHECK(e.path().filename().string().rfind("ckptsim-sweep-", 0) != 0);
}

TEST_CASE("sweep --slurm: an array task cancelled mid-run is requeued once and the result is still the local run's") {
  if (skip_unless_root()) return;
  TempDir t;
  // Shards of several seconds each (about 4 s alone here, 7 s two at a time),
  // so the task seen running is cancelled long before it could write its shard:
  // with 1.3 s shards a loaded CI machine saw the victim finish first.
  const std::string sweep = shell_quote(kCkptsim) +
                            " sweep --sizes 1000,2000 --interval 60:300:60 --nodes 2 --jobs-per-node 2"
                            " --replications 24000 --seed 3 --format csv";
  const CmdResult local = run_shell("cd " + t.path().string() + " && " + sweep + " -q");
  REQUIRE(local.status == 0);
  REQUIRE(run_shell("cd " + t.path().string() + " && (" + sweep + " --slurm --tasks 4 > slurm.out 2> slurm.err; echo $? > status) &")
              .status == 0);
  std::string victim;
  const auto end = clock_type::now() + std::chrono::seconds(120);
  while (victim.empty() && clock_type::now() < end && !fs::exists(t / "status")) {
    victim = sh("squeue -h -r -n ckptsim-sweep -t R -o %i | head -1");
    while (!victim.empty() && (victim.back() == '\n' || victim.back() == ' ')) victim.pop_back();
    if (victim.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  REQUIRE(!victim.empty());
  REQUIRE(run_shell("scancel " + victim).status == 0);
  const auto dir_of_sweep = [&t]() -> fs::path {
    for (const auto& e : fs::directory_iterator(t.path()))
      if (e.path().filename().string().rfind("ckptsim-sweep-", 0) == 0) return e.path();
    return {};
  };
  const std::string task = victim.substr(victim.find('_') + 1);
  {
    INFO("the cancelled task had written its shard before the cancel reached it: the shards are too short");
    CHECK(!fs::exists(dir_of_sweep() / ("shard-" + task + ".json")));
  }
  REQUIRE(wait_contains(t / "status", "\n", 300));
  const std::string err = read_file(t / "slurm.err");
  INFO("cancelled " << victim << "; " << err);
  CHECK(read_file(t / "status") == "0\n");
  CHECK(err.find("requeued once") != std::string::npos);
  CHECK(read_file(t / "slurm.out") == local.out);
}

