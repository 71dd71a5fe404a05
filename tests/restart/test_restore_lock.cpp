// One restore of a job at a time: while a restored job runs, another
// `ckptsim restart` of its image (or of any image of its directory) is refused
// in one line naming the restore that runs it, and starts nothing; `--force`
// overrides; once the job has ended a restore is allowed again.
#include <catch2/catch.hpp>

#include <signal.h>

#include <algorithm>

#include "harness.h"

using namespace restart_test;

namespace {

// prog_stdio checkpointed at its gate under `ckptsim run`, killed; the gate
// stays shut, so a restored job waits at it until dir/go exists.
fs::path gated_image(const TempDir& dir, const fs::path& exe) {
  fs::create_directories(dir / "run");
  Redirect io;
  io.out = (dir / "run" / "stdout.txt").string();
  Job job = start_job(dir / "img", {exe.string(), (dir / "marker").string(), (dir / "go").string(), "lines.txt"},
                      dir / "run", io);
  REQUIRE(eventually([&] { return fs::exists(dir / "marker"); }));
  REQUIRE(checkpoint(job.pid));
  kill_job(job);
  return dir / "img" / "latest";
}

pid_t start_restore(const TempDir& dir, const fs::path& image, const std::string& name,
                    const std::vector<std::string>& extra = {}) {
  std::vector<std::string> argv{ckptsim_exe(), "restart", image.string(), "--pid-file", (dir / name).string()};
  argv.insert(argv.end(), extra.begin(), extra.end());
  Redirect io;
  io.err = (dir / (name + ".err")).string();
  const pid_t runner = spawn(argv, dir / "run", io);
  REQUIRE(eventually([&] { return file_contains(dir / name, "\n"); }));
  return runner;
}

}  // namespace

TEST_CASE("one restore at a time: a second restore of a running job is refused naming the first, then allowed") {
  TempDir dir;
  fs::create_directories(dir / "bin");
  const fs::path exe = dir / "bin" / "prog_stdio";
  fs::copy_file(prog("prog_stdio"), exe);
  fs::permissions(exe, fs::perms::owner_all);
  const fs::path image = gated_image(dir, exe);
  const pid_t first = start_restore(dir, image, "pid-1");
  REQUIRE(processes_running(exe.string()).size() == 1);

  for (const fs::path& again : {image, dir / "img" / "ckpt-0001"}) {
    RestartResult r = restart({again.string()}, dir / "run");
    INFO(r.stderr_text);
    CHECK(r.status == 4);
    CHECK(std::count(r.stderr_text.begin(), r.stderr_text.end(), '\n') == 1);
    CHECK(r.stderr_text.find("is running already, restored by process " + std::to_string(first)) != std::string::npos);
    CHECK(processes_running(exe.string()).size() == 1);
  }

  // --force: the same job a second time, as asked.
  const pid_t forced = start_restore(dir, image, "pid-2", {"--force"});
  CHECK(processes_running(exe.string()).size() == 2);
  write_file(dir / "go", "");
  CHECK(wait_status(first) == 0);
  CHECK(wait_status(forced) == 0);

  // The job has ended: its image restores again (and runs through the open gate).
  RestartResult after = restart({image.string()}, dir / "run");
  INFO(after.stderr_text);
  CHECK(after.status == 0);
}

TEST_CASE("one restore at a time: a restore killed with its job frees the lock (no stale lock)") {
  TempDir dir;
  const fs::path image = gated_image(dir, prog("prog_stdio"));
  const pid_t first = start_restore(dir, image, "pid-1");
  ::kill(first, SIGKILL);
  const pid_t job = std::stoi(read_file(dir / "pid-1"));
  ::kill(job, SIGKILL);
  wait_status(first);
  write_file(dir / "go", "");
  RestartResult r = restart({image.string()}, dir / "run");
  INFO(r.stderr_text);
  CHECK(r.status == 0);
}
