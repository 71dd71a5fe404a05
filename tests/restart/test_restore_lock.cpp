// One restore of a chain at a time: while a restored job runs, another
// `ckptsim restart` of its image (or of any image of its directory) is refused
// in one line naming the running job and the image it came from, and starts
// nothing; `--force` overrides; once the job has ended a restore is allowed
// again. The claim is the job's, not the restorer's: it outlives a killed
// `ckptsim restart`. Ten restores started at once run the job once.
#include <catch2/catch.hpp>

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "ckpt/image_format.h"
#include "harness.h"

using namespace restart_test;

namespace {

// A private copy of prog_stdio (so that its processes can be counted),
// checkpointed at its gate under `ckptsim run`, killed; the gate stays shut,
// so a restored job waits at it until dir/go exists.
fs::path gated_image(const TempDir& dir, fs::path* exe) {
  fs::create_directories(dir / "bin");
  *exe = dir / "bin" / "prog_stdio";
  fs::copy_file(prog("prog_stdio"), *exe);
  fs::permissions(*exe, fs::perms::owner_all);
  fs::create_directories(dir / "run");
  Redirect io;
  io.out = (dir / "run" / "stdout.txt").string();
  Job job = start_job(dir / "img", {exe->string(), (dir / "marker").string(), (dir / "go").string(), "lines.txt"},
                      dir / "run", io);
  REQUIRE(eventually([&] { return fs::exists(dir / "marker"); }));
  REQUIRE(checkpoint(job.pid));
  kill_job(job);
  return dir / "img" / "latest";
}

// `ckptsim restart IMAGE --pid-file DIR/NAME` in the background, stderr to DIR/NAME.err.
pid_t spawn_restore(const TempDir& dir, const fs::path& image, const std::string& name,
                    const std::vector<std::string>& extra = {}) {
  std::vector<std::string> argv{ckptsim_exe(), "restart", image.string(), "--pid-file", (dir / name).string()};
  argv.insert(argv.end(), extra.begin(), extra.end());
  Redirect io;
  io.err = (dir / (name + ".err")).string();
  return spawn(argv, dir / "run", io);
}

// spawn_restore, returning once the job runs: the restorer's pid, and the job's in *job.
pid_t start_restore(const TempDir& dir, const fs::path& image, const std::string& name, pid_t* job,
                    const std::vector<std::string>& extra = {}) {
  const pid_t runner = spawn_restore(dir, image, name, extra);
  REQUIRE(eventually([&] { return file_contains(dir / name, "\n"); }));
  *job = std::stoi(read_file(dir / name));
  return runner;
}

// A refusal: exit 4, one line, naming the running job.
void check_refused(const RestartResult& r, pid_t job) {
  INFO(r.stderr_text);
  CHECK(r.status == 4);
  CHECK(std::count(r.stderr_text.begin(), r.stderr_text.end(), '\n') == 1);
  CHECK(r.stderr_text.find("is running already as process " + std::to_string(job) + " (restored from ") !=
        std::string::npos);
  CHECK(r.stderr_text.find("--force") != std::string::npos);
}

}  // namespace

TEST_CASE("one restore at a time: a second restore of a running job is refused naming it, then allowed") {
  TempDir dir;
  fs::path exe;
  const fs::path image = gated_image(dir, &exe);
  pid_t job = 0;
  const pid_t first = start_restore(dir, image, "pid-1", &job);
  REQUIRE(processes_running(exe.string()).size() == 1);
  CHECK(fs::is_regular_file(dir / "img" / ckptsim::image_format::kRestoreLock));

  // Any image of the chain, by any name.
  for (const fs::path& again : {image, dir / "img" / "ckpt-0001", dir / "img" / "ckpt-0001" / ""}) {
    check_refused(restart({again.string()}, dir / "run"), job);
    CHECK(processes_running(exe.string()).size() == 1);
  }
  // run --resume of the same directory (as a requeued batch job does) is a restore too.
  Redirect io;
  io.err = (dir / "resume.err").string();
  const int resumed = run({ckptsim_exe(), "run", "--resume", "--dir", (dir / "img").string(), "--", exe.string(),
                           (dir / "marker").string(), (dir / "go").string(), "lines.txt"},
                          dir / "run", io);
  const std::string resume_err = read_file(dir / "resume.err");
  INFO(resume_err);
  CHECK(resumed == 4);
  CHECK(resume_err.find("run: --resume: the job of " + (dir / "img").string()) != std::string::npos);
  CHECK(resume_err.find("is running already as process " + std::to_string(job)) != std::string::npos);
  CHECK(processes_running(exe.string()).size() == 1);

  // --force: the same job a second time, as asked.
  pid_t forced_job = 0;
  const pid_t forced = start_restore(dir, image, "pid-2", &forced_job, {"--force"});
  CHECK(processes_running(exe.string()).size() == 2);
  write_file(dir / "go", "");
  CHECK(wait_status(first) == 0);
  CHECK(wait_status(forced) == 0);

  // The job has ended: its image restores again (and runs through the open gate).
  RestartResult after = restart({image.string()}, dir / "run");
  INFO(after.stderr_text);
  CHECK(after.status == 0);
}

TEST_CASE("one restore at a time: the claim is the job's: it outlives a killed restorer and ends with the job") {
  TempDir dir;
  fs::path exe;
  const fs::path image = gated_image(dir, &exe);
  pid_t job = 0;
  const pid_t first = start_restore(dir, image, "pid-1", &job);
  ::kill(first, SIGKILL);  // the restorer alone: its job runs on
  CHECK(wait_status(first) == 128 + SIGKILL);
  REQUIRE(processes_running(exe.string()).size() == 1);
  check_refused(restart({image.string()}, dir / "run"), job);
  // The restored job still checkpoints into the directory that holds the lock file.
  CHECK(checkpoint(job));
  check_refused(restart({(dir / "img" / "latest").string()}, dir / "run"), job);

  ::kill(job, SIGKILL);  // its job dead (not reaped by us): no stale lock
  REQUIRE(eventually([&] { return processes_running(exe.string()).empty(); }));
  write_file(dir / "go", "");
  RestartResult r = restart({image.string()}, dir / "run");
  INFO(r.stderr_text);
  CHECK(r.status == 0);
}

TEST_CASE("one restore at a time: ten restores of one image started at once run the job once") {
  TempDir dir;
  fs::path exe;
  const fs::path image = gated_image(dir, &exe);
  constexpr int kRestores = 10;
  std::vector<pid_t> runners;
  for (int i = 0; i < kRestores; ++i) runners.push_back(spawn_restore(dir, image, "pid-" + std::to_string(i)));
  auto refused = [&] {
    int n = 0;
    for (int i = 0; i < kRestores; ++i)
      n += file_contains(dir / ("pid-" + std::to_string(i) + ".err"), "one restore of a chain at a time");
    return n;
  };
  REQUIRE(eventually([&] { return refused() == kRestores - 1; }));
  REQUIRE(eventually([&] { return processes_running(exe.string()).size() == 1; }));
  auto pid_files = [&] {
    int n = 0;
    for (int i = 0; i < kRestores; ++i) n += fs::exists(dir / ("pid-" + std::to_string(i)));
    return n;
  };
  CHECK(eventually([&] { return pid_files() == 1; }));
  write_file(dir / "go", "");
  std::vector<int> statuses;
  for (pid_t r : runners) statuses.push_back(wait_status(r));
  CHECK(std::count(statuses.begin(), statuses.end(), 0) == 1);
  CHECK(std::count(statuses.begin(), statuses.end(), 4) == kRestores - 1);
  for (int i = 0; i < kRestores; ++i) {
    const std::string err = read_file(dir / ("pid-" + std::to_string(i) + ".err"));
    INFO(err);
    CHECK(std::count(err.begin(), err.end(), '\n') == (statuses[static_cast<size_t>(i)] == 4 ? 1 : 0));
  }
  CHECK(processes_running(exe.string()).empty());
}

TEST_CASE("one restore at a time: a claim from another host counts unless that host rebooted or it is this Slurm job") {
  TempDir dir;
  fs::path exe;
  const fs::path image = gated_image(dir, &exe);
  write_file(dir / "go", "");  // each allowed restore runs to its end
  const fs::path lock = dir / "img" / ckptsim::image_format::kRestoreLock;
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  auto plant = [&](const std::string& on, const std::string& slurm) {
    write_file(lock, "restorer=4711:99 job=4712:100 host=" + on +
                         " boot=00000000-0000-0000-0000-000000000000 pidns=pid:[1] slurm=" + slurm +
                         " image=/elsewhere/img/ckpt-0001\n");
  };
  ::unsetenv("SLURM_JOB_ID");

  plant("node-elsewhere", "77");
  RestartResult r = restart({image.string()}, dir / "run");
  INFO(r.stderr_text);
  CHECK(r.status == 4);
  CHECK(std::count(r.stderr_text.begin(), r.stderr_text.end(), '\n') == 1);
  CHECK(r.stderr_text.find("process 4712 on host node-elsewhere, which this host cannot check") != std::string::npos);
  CHECK(processes_running(exe.string()).empty());

  // A requeued run of the same Slurm job: Slurm has ended the earlier one.
  ::setenv("SLURM_JOB_ID", "77", 1);
  RestartResult requeued = restart({image.string()}, dir / "run");
  ::unsetenv("SLURM_JOB_ID");
  INFO(requeued.stderr_text);
  CHECK(requeued.status == 0);

  // This host under another boot id: it has rebooted since, the job is gone.
  plant(host, "-");
  RestartResult rebooted = restart({image.string()}, dir / "run");
  INFO(rebooted.stderr_text);
  CHECK(rebooted.status == 0);
  CHECK(read_file(lock).empty());  // cleared when the job ended

  // Not a regular file of ours in its place: refused, nothing started.
  fs::remove(lock);
  fs::create_symlink(dir / "elsewhere", lock);
  RestartResult planted = restart({image.string()}, dir / "run");
  INFO(planted.stderr_text);
  CHECK(planted.status == 2);
  CHECK(std::count(planted.stderr_text.begin(), planted.stderr_text.end(), '\n') == 1);
  CHECK(planted.stderr_text.find("is not a regular file") != std::string::npos);
  CHECK(!fs::exists(dir / "elsewhere"));
}
