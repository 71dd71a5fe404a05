// `ckptsim checkpoint` of a job that is stopped (SIGSTOP, a scheduler's
// suspend): the job is continued for its dump and stops itself again once
// the dump no longer needs it running (after the fork for a forked dump, whose
// writer completes the image meanwhile). Before, a forked dump's job computed
// for as long as its image was written (issue 23: the paused ckpt-matmul of
// test_incremental.cpp ran to its end during its forked dumps), and a request
// sent to a stopped job waited for someone else's SIGCONT.
#include <catch2/catch.hpp>
#include <signal.h>

#include <chrono>
#include <thread>

#include "test_helpers.h"

using namespace ckpttest;

namespace {

char state_of(pid_t pid) {
  const std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  const auto close = stat.rfind(')');
  return close != std::string::npos && close + 2 < stat.size() ? stat[close + 2] : '?';
}

// Until pid is in state `want`, or 60 s.
bool reaches_state(pid_t pid, char want) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (state_of(pid) != want) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

}  // namespace

TEST_CASE("checkpoint of a stopped job: continued for the dump, stopped again after it, images complete") {
  // One thread, and four computing all the time: the dump is led by whichever
  // thread took the signal, often not the main one, and it must stop before
  // it lets the others go (a SIGSTOP to the process stopped it only once the
  // main thread had taken it, and then a request sent to the stopped job
  // could be dropped as one the dump had served).
  for (const bool threads : {false, true})
  for (const bool no_fork : {false, true}) {
    DYNAMIC_SECTION((threads ? "4 busy threads, " : "1 thread, ") << (no_fork ? "--no-fork" : "forked (default)")) {
      TempDir t;
      const fs::path img = t.path() / "img", ready = t.path() / "ready";
      std::vector<std::string> opts = {"--keep", "10"};
      if (no_fork) opts.push_back("--no-fork");
      const std::vector<std::string> argv =
          threads ? std::vector<std::string>{CKPT_PROBE, "threads", "64", "4", "busy", ready.string()}
                  : std::vector<std::string>{CKPT_PROBE, "alloc", "64", ready.string()};
      RunningJob job(img, argv, t.path() / "stdout", t.path() / "stderr", opts);
      REQUIRE(job.job_pid > 0);
      REQUIRE(wait_for_file(ready));
      ::kill(job.job_pid, SIGSTOP);
      REQUIRE(reaches_state(job.job_pid, 'T'));
      // Three times: each later request reaches the job while it is stopped
      // inside the previous one's handler, and must be served, not dropped
      // with the requests the previous dump served.
      for (const char* image : {"ckpt-0001", "ckpt-0002", "ckpt-0003"}) {
        INFO(image);
        const std::string cmd = shell_quote(kCkptsim) + " checkpoint " + std::to_string(job.job_pid) + " --wait --timeout 60";
        const CmdResult r = run_shell(cmd);
        INFO(r.err);
        REQUIRE(r.status == 0);
        CHECK(r.out == (img / image).string() + "\n");
        CHECK(r.err.find("was stopped: continued for its dump") != std::string::npos);
        CHECK(reaches_state(job.job_pid, 'T'));
        for (const auto& task : fs::directory_iterator("/proc/" + std::to_string(job.job_pid) + "/task"))
          CHECK(reaches_state(static_cast<pid_t>(std::stol(task.path().filename().string())), 'T'));
        check_image(img / image);
      }
      ::kill(job.job_pid, SIGCONT);
      ::kill(job.job_pid, SIGTERM);
      CHECK(job.wait() == 0);
    }
  }
}
