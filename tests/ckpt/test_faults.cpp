// Faults: a job killed in the middle of a dump, and a full disk.
#include <signal.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <thread>

#include "ckpt/image_format.h"
#include "test_helpers.h"

using namespace ckpttest;
namespace fmt = ckptsim::image_format;

namespace {
// The job's child processes, as the kernel lists them ("" if none).
std::string job_children(pid_t pid) {
  std::string c = read_file("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
  while (!c.empty() && c.back() == ' ') c.pop_back();
  return c;
}

// Gone, or a zombie waiting for init to reap it.
bool eventually_gone(const std::string& pid) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    std::error_code ec;
    if (!fs::exists("/proc/" + pid, ec)) return true;
    const std::string stat = read_file("/proc/" + pid + "/stat");
    const auto paren = stat.rfind(')');
    if (stat.empty() || (paren != std::string::npos && stat.compare(paren + 2, 1, "Z") == 0)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}
}  // namespace

TEST_CASE("kill -9 during a dump leaves the previous image valid and latest on it") {
  TempDir t;
  const fs::path img = t.path() / "img", ready = t.path() / "ready";
  fs::path tmp_core;
  pid_t dead_pid = -1;
  std::string writer;
  {
    // In-process: the job itself is in its dump when it is killed.
    RunningJob job(img, {CKPT_PROBE, "alloc", "700", ready.string()}, t.path() / "stdout", t.path() / "stderr",
                   {"--no-fork"});
    REQUIRE(job.job_pid > 0);
    REQUIRE(wait_for_file(ready, std::chrono::seconds(300)));
    REQUIRE(checkpoint_wait(job.job_pid) == (img / "ckpt-0001").string());

    // Second dump: once its core writer task is writing (so it has asked to
    // die with the job: PR_SET_PDEATHSIG comes first), stop it, so the dump is
    // held mid-core however the machine schedules this loop; then kill the job.
    dead_pid = job.job_pid;
    tmp_core = img / (".tmp-ckpt-0002-" + std::to_string(job.job_pid)) / "core";
    ::kill(job.job_pid, SIGQUIT);
    bool caught_mid_dump = false;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(2);
    while (std::chrono::steady_clock::now() < deadline) {
      struct stat st {};
      writer = job_children(job.job_pid);
      if (!writer.empty() && ::stat(tmp_core.c_str(), &st) == 0 && st.st_size > (8 << 20)) {
        ::kill(std::stoi(writer), SIGSTOP);
        caught_mid_dump = fs::exists(tmp_core) && !fs::exists(img / "ckpt-0002");
        ::kill(job.job_pid, SIGKILL);
        break;
      }
      std::this_thread::yield();
    }
    REQUIRE(caught_mid_dump);
    CHECK(job.wait() == 128 + SIGKILL);
    // The core writer task shares the job's memory: it must die with the job.
    INFO("writer task: " << writer);
    CHECK(!writer.empty());
    CHECK(eventually_gone(writer));
  }
  CHECK(image_names(img) == std::vector<std::string>{"ckpt-0001"});
  CHECK(fs::read_symlink(img / "latest") == "ckpt-0001");
  check_image(img / "latest");

  // The next checkpoint in this directory removes the dead writer's temp dir.
  RunningJob next(img, {CKPT_PROBE, "alloc", "4", (t.path() / "ready2").string()}, t.path() / "stdout2",
                  t.path() / "stderr2");
  REQUIRE(wait_for_file(t.path() / "ready2"));
  CHECK(checkpoint_wait(next.job_pid) == (img / "ckpt-0002").string());
  CHECK(!fs::exists(tmp_core.parent_path()));
  check_image(img / "ckpt-0002");
  ::kill(next.job_pid, SIGTERM);
  CHECK(next.wait() == 0);
  (void)dead_pid;
}

TEST_CASE("a full disk fails the checkpoint with one line and the job finishes correctly with no image left") {
  if (run_shell("unshare -m true").status != 0) {
    WARN("unshare -m is not permitted here: skipping the ENOSPC test");
    return;
  }
  TempDir t;
  const fs::path img = t.path() / "img", out = t.path() / "out.bin", ref = t.path() / "ref.bin";
  fs::create_directory(img);
  // A 6 MiB tmpfs in a private mount namespace: far too small for the job's core.
  const std::string script =
      "mount -t tmpfs -o size=6m,mode=0700 tmpfs " + img.string() + " && " + shell_quote(kCkptsim) +
      " run --no-fork --dir " + img.string() + " --interval 0.2 -- " + shell_quote(kMatmul) +
      " --n 1800 --out " + out.string() + "; echo exit=$?; ls -A -I " + fmt::kWrittenJournal + " " + img.string() +
      "; head -n 1 " + img.string() + "/.ckpt-status";
  const CmdResult r = run_shell("unshare -m sh -c " + shell_quote(script));
  INFO("stdout: " << r.out << "\nstderr: " << r.err);
  CHECK(r.out.rfind("exit=0\n.ckpt-status\nfail ", 0) == 0);
  CHECK(r.err.find("ckpt: checkpoint 1 failed: writing core: No space left on device\n") != std::string::npos);
  REQUIRE(run_shell(shell_quote(kMatmul) + " --n 1800 --out " + shell_quote(ref.string())).status == 0);
  CHECK(read_file(out) == read_file(ref));
}
