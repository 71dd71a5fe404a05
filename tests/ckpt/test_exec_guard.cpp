// The library survives exec even when the program passes an empty environment
// (execve with envp {NULL}, execvp/execl after clearenv, posix_spawn, system,
// popen, `env -i`, Python's subprocess and os.execve with env={}): the new
// program maps libckpt.so, catches the checkpoint signal with it unblocked,
// and has CKPT_DIR, absolute, naming the job's directory. The exec window
// (signals around exec, failed execs, programs that do not load the library)
// is test_exec_window.cpp's.
#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <thread>

#include "exec_helpers.h"

using namespace ckpttest;

namespace {

const std::string& kProbe = kExecProbe;

// `pid`, started as `exec_probe wait DIR` by an exec the job made with an
// environment without the library: it has it all the same.
void check_guarded(pid_t pid, const fs::path& img, const fs::path& dir) {
  REQUIRE(pid > 0);
  INFO("pid " << pid);
  CHECK(maps_library(pid));
  CHECK(env_at_exec(pid, "CKPT_DIR") == img.string());
  CHECK(env_at_exec(pid, "LD_PRELOAD").find("libckpt.so") != std::string::npos);
  CHECK(wait_until_catching(pid, SIGQUIT));
  CHECK_FALSE(status_bit(pid, "SigBlk", SIGQUIT));
  // The exec was made with SIGQUIT blocked (the mark says which), and the
  // library took the mark out before the program could see it.
  CHECK(env_at_exec(pid, kMark) == std::to_string(SIGQUIT));
  CHECK(env_seen(dir, pid, kMark, "(absent)") == "(absent)");
  CHECK(env_seen(dir, pid, "CKPT_DIR") == img.string());
}

}  // namespace

TEST_CASE("a program exec'd with an empty environment keeps libckpt.so and CKPT_DIR, whichever call execs it") {
  const std::string py_run = "import subprocess, sys; sys.exit(subprocess.run(sys.argv[1:], env={}).returncode)";
  const std::string py_exec = "import os, sys; os.execve(sys.argv[1], sys.argv[1:], {})";
  struct Case {
    const char* name;
    bool same_process;  // the job itself execs (no child)
    std::vector<std::string> argv;  // before "wait DIR"
  };
  const std::vector<Case> cases = {
      {"execve", true, {kProbe, "execve", kProbe}},
      {"execvp (sh found on the default PATH)", true, {kProbe, "execvp", "sh", "-c", "exec \"$0\" \"$@\"", kProbe}},
      {"execl", true, {kProbe, "execl", kProbe}},
      {"env -i", true, {"/usr/bin/env", "-i", kProbe}},
      {"python os.execve env={}", true, {"/usr/bin/python3", "-c", py_exec, kProbe}},
      {"posix_spawn", false, {kProbe, "spawn", kProbe}},
      {"python subprocess.run env={}", false, {"/usr/bin/python3", "-c", py_run, kProbe}},
  };
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.name) {
      TempDir t;
      const fs::path img = t / "img";
      std::vector<std::string> argv = c.argv;
      argv.push_back("wait");
      argv.push_back(t.path().string());
      RunningJob job(img, argv, t / "out", t / "err");
      REQUIRE(job.job_pid > 0);
      const pid_t pid = ready_pid(t.path());
      INFO(read_file(t / "err"));
      check_guarded(pid, img, t.path());
      if (c.same_process) {
        CHECK(pid == job.job_pid);
        CHECK(checkpoint_wait(pid) == (img / "ckpt-0001").string());  // its handler takes it
      }
      std::ofstream(t / "go").put('\n');
      CHECK(job.wait() == 0);
    }
  }
}

TEST_CASE("system and popen after clearenv: the shell and what it execs keep libckpt.so") {
  for (const std::string mode : {"system", "popen"}) {
    DYNAMIC_SECTION(mode) {
      TempDir t;
      const fs::path img = t / "img";
      RunningJob job(img, {kProbe, mode, "exec " + kProbe + " wait " + t.path().string()}, t / "out", t / "err");
      REQUIRE(job.job_pid > 0);
      const pid_t pid = ready_pid(t.path());
      INFO(read_file(t / "err"));
      check_guarded(pid, img, t.path());
      CHECK(pid != job.job_pid);
      std::ofstream(t / "go").put('\n');
      CHECK(job.wait() == 0);
    }
  }
}

TEST_CASE("a relative CKPT_DIR reaches a program exec'd in another directory as the absolute one") {
  TempDir t;
  fs::create_directories(t / "elsewhere");
  // By hand, as a user would: LD_PRELOAD and a relative CKPT_DIR, cwd t.
  const std::string line = "cd " + shell_quote(t.path().string()) + " && LD_PRELOAD=" + shell_quote(kLib) +
                           " CKPT_DIR=img " + shell_quote(kProbe) + " execve /bin/sh -c 'cd elsewhere && exec " +
                           kProbe + " wait " + t.path().string() + "'";
  CmdResult r;
  std::thread job([&] { r = run_shell(line); });
  const pid_t pid = ready_pid(t.path());
  check_guarded(pid, t / "img", t.path());
  CHECK(fs::equivalent(fs::read_symlink("/proc/" + std::to_string(pid) + "/cwd"), t / "elsewhere"));
  std::ofstream(t / "go").put('\n');
  job.join();
  INFO(r.err);
  CHECK(r.status == 0);
}
