// Bad input to `run` and `checkpoint`: one clear line, exit 2, nothing started,
// and a job that is asked wrongly keeps running.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <fstream>
#include <thread>

#include "test_helpers.h"

using namespace ckpttest;

namespace {

size_t lines(const std::string& s) { return size_t(std::count(s.begin(), s.end(), '\n')); }

void check_refused(const CmdResult& r, const std::string& what) {
  INFO("stderr: " << r.err);
  CHECK(r.status == 2);
  CHECK(lines(r.err) == 1);
  CHECK(r.err.find(what) != std::string::npos);
}

}  // namespace

TEST_CASE("run refuses an unknown signal or a missing or static program or an unusable directory") {
  TempDir t;
  const std::string dir = (t.path() / "img").string();
  const std::string run = shell_quote(kCkptsim) + " run --dir " + dir;
  check_refused(run_shell(shell_quote(kCkptsim) + " run --dir " + dir + " --signal BOGUS -- true"), "unknown signal");
  check_refused(run_shell(shell_quote(kCkptsim) + " run --dir " + dir + " --signal KILL -- true"), "cannot be caught");
  check_refused(run_shell(run + " -- no-such-program-ckpttest"), "not found");
  check_refused(run_shell(run + " -- /nonexistent/prog"), "not found");
  check_refused(run_shell(run + " -- " + CKPT_STATIC_HELLO), "statically linked");
  CHECK(!fs::exists(dir));  // nothing was prepared for a job that never started

  const fs::path file = t.path() / "plainfile";
  { std::ofstream(file) << "x"; }
  check_refused(run_shell(shell_quote(kCkptsim) + " run --dir " + (t.path() / "missing/parent/img").string() + " -- true"),
                "cannot create checkpoint directory");
  check_refused(run_shell(shell_quote(kCkptsim) + " run --dir " + (file / "img").string() + " -- true"),
                "cannot create checkpoint directory");
  check_refused(run_shell(shell_quote(kCkptsim) + " run --dir /proc -- true"), "not writable");
  check_refused(run_shell(shell_quote(kCkptsim) + " run --dir " + dir + " --interval -1 -- true"), "interval");
}

TEST_CASE("run passes on the job's exit status") {
  TempDir t;
  const std::string run = shell_quote(kCkptsim) + " run --dir " + (t.path() / "img").string() + " -- ";
  CHECK(run_shell(run + "true").status == 0);
  CHECK(run_shell(run + "false").status == 1);
  CHECK(run_shell(run + "sh -c 'exit 7'").status == 7);
  CHECK(run_shell(run + "sh -c 'kill -TERM $$'").status == 128 + SIGTERM);
  const CmdResult echo = run_shell(run + "echo hello");
  CHECK(echo.out == "hello\n");
  CHECK(echo.err.empty());
}

TEST_CASE("checkpoint refuses a missing process and one without libckpt which keeps running") {
  check_refused(run_shell(shell_quote(kCkptsim) + " checkpoint 4194304"), "no process");
  check_refused(run_shell(shell_quote(kCkptsim) + " checkpoint notapid"), "pid");

  const pid_t sleeper = ::fork();
  if (sleeper == 0) {
    ::execlp("sleep", "sleep", "60", (char*)nullptr);
    ::_exit(127);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  check_refused(run_shell(shell_quote(kCkptsim) + " checkpoint " + std::to_string(sleeper) + " --wait"),
                "does not run under libckpt.so");
  CHECK(process_alive(sleeper));
  ::kill(sleeper, SIGKILL);
  ::waitpid(sleeper, nullptr, 0);
}

TEST_CASE("the library preloaded by hand with a bad CKPT_SIGNAL says so once and the program runs") {
  TempDir t;
  const CmdResult r = run_shell("LD_PRELOAD=" + shell_quote(kLib) + " CKPT_SIGNAL=NOPE CKPT_DIR=" +
                                (t.path() / "img").string() + " /bin/echo fine");
  CHECK(r.status == 0);
  CHECK(r.out == "fine\n");
  CHECK(r.err == "ckpt: unknown or unusable CKPT_SIGNAL 'NOPE'; checkpoints disabled\n");
}
