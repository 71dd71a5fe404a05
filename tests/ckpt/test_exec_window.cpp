// The exec window: from an exec until the new image's library has installed
// its handler, the checkpoint signal has its default action (SIGQUIT's kills).
// The guard makes the exec with the signal blocked, so one sent then waits for
// the handler: sent at the very moment an exec completes (a ptrace exec stop,
// before the new image runs one instruction) or again and again while a
// process execs itself, it never kills. A program that will not load the
// library (static, set-ID) is exec'd without the block, which nothing would
// ever lift; and a failed exec leaves the caller's mask and environment as
// they were (progs/exec_fail.c).
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <fstream>
#include <thread>

#include "exec_helpers.h"

using namespace ckpttest;

namespace {

using Clock = std::chrono::steady_clock;

// Lets a tracee go: it must be in a ptrace stop first, so a running one is
// interrupted; a signal it stopped for is passed on.
void detach(pid_t p) {
  if (ptrace(PTRACE_INTERRUPT, p, nullptr, nullptr) != 0) return;  // gone already
  int st = 0;
  if (waitpid(p, &st, __WALL) != p || !WIFSTOPPED(st)) return;
  ptrace(PTRACE_DETACH, p, nullptr, (st >> 16) == 0 ? WSTOPSIG(st) : 0);
}

// Traces the job and every process it starts until one of them completes an
// exec (the job itself, or one of the others when `of_child`); sends it `sig`
// in that exec stop, when the new program is loaded but has not run, and lets
// them all go. Returns the pid it signalled, -1 when none exec'd in 60 s.
pid_t signal_at_exec(pid_t job, bool of_child, int sig) {
  const long opts = PTRACE_O_TRACEEXEC | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE;
  if (ptrace(PTRACE_SEIZE, job, nullptr, opts) != 0) return -1;
  std::vector<pid_t> traced = {job};
  pid_t hit = -1;
  for (const auto deadline = Clock::now() + std::chrono::seconds(60); hit < 0 && Clock::now() < deadline;) {
    bool any = false;
    for (size_t i = 0; i < traced.size() && hit < 0; ++i) {
      const pid_t p = traced[i];
      int st = 0;
      if (waitpid(p, &st, __WALL | WNOHANG) != p) continue;
      any = true;
      if (!WIFSTOPPED(st)) {  // ended
        traced.erase(traced.begin() + long(i--));
        continue;
      }
      const int event = st >> 16;
      int pass = 0;
      if (event == PTRACE_EVENT_FORK || event == PTRACE_EVENT_VFORK || event == PTRACE_EVENT_CLONE) {
        unsigned long child = 0;
        ptrace(PTRACE_GETEVENTMSG, p, nullptr, &child);
        traced.push_back(pid_t(child));
      } else if (event == PTRACE_EVENT_EXEC && (p != job) == of_child) {
        ::kill(p, sig);
        hit = p;
        break;  // left in its stop: detached below
      } else if (event == 0) {
        pass = WSTOPSIG(st);  // a signal for it, delivered as without us
      }
      ptrace(PTRACE_CONT, p, nullptr, pass);
    }
    if (!any) std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  for (const pid_t p : traced) {
    if (p == hit) ptrace(PTRACE_DETACH, p, nullptr, 0);
    else detach(p);
  }
  return hit;
}

// `pid`, an `exec_probe wait DIR` exec'd by the job: nothing blocked for it,
// no library, no mark (the environment is completed all the same).
void check_left_alone(pid_t pid) {
  REQUIRE(pid > 0);
  INFO("pid " << pid);
  CHECK_FALSE(maps_library(pid));
  CHECK_FALSE(status_bit(pid, "SigBlk", SIGQUIT));
  CHECK(env_at_exec(pid, kMark, "(absent)") == "(absent)");
  CHECK(env_at_exec(pid, "LD_PRELOAD").find("libckpt.so") != std::string::npos);
}

}  // namespace

TEST_CASE("a checkpoint signal sent the moment an exec completes waits for the new image's handler") {
  struct Case {
    const char* name;
    bool of_child;  // the exec signalled is a child's, not the job's own
    std::vector<std::string> argv;  // after "gate DIR"
  };
  TempDir t;
  const std::string dir = t.path().string();
  const std::string then = "exec " + kExecProbe + " loop 0 " + dir;
  const std::vector<Case> cases = {
      {"execve, empty environment", false, {"execve", kExecProbe, "loop", "0", dir}},
      {"posix_spawn, empty environment", true, {"spawn", kExecProbe, "loop", "0", dir}},
      {"system after clearenv (the shell is signalled)", true, {"system", then}},
      {"popen after clearenv (the shell is signalled)", true, {"popen", then}},
  };
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.name) {
      const fs::path img = t / ("img-" + std::to_string(&c - cases.data()));
      fs::remove(t / "start");
      fs::remove(t / "done");
      std::vector<std::string> argv = {kExecProbe, "gate", dir};
      argv.insert(argv.end(), c.argv.begin(), c.argv.end());
      // In-process: the image is complete when the job goes on (a forked
      // one may still be written when this short job has ended).
      RunningJob job(img, argv, t / "out", t / "err", {"--no-fork"});
      REQUIRE(job.job_pid > 0);
      REQUIRE(wait_until_catching(job.job_pid, SIGQUIT));
      std::thread open_gate([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));  // once traced
        std::ofstream(t / "start").put('\n');
      });
      const pid_t hit = signal_at_exec(job.job_pid, c.of_child, SIGQUIT);
      open_gate.join();
      CHECK(hit > 0);
      const int status = job.wait();
      INFO("stderr: " << read_file(t / "err"));
      CHECK(status == 0);  // killed by SIGQUIT without the block: 131, or 1 from the probe
      CHECK(fs::exists(t / "done"));
      // The job's own new image took the checkpoint (a child of the job is
      // refused as part of a job of several: handled, not killed).
      if (!c.of_child) CHECK(image_names(img) == std::vector<std::string>{"ckpt-0001"});
    }
  }
}

TEST_CASE("checkpoint signals sent while a process execs itself 200 times: every one handled, never killed") {
  TempDir t;
  const fs::path img = t / "img";
  RunningJob job(img, {kExecProbe, "loop", "200", t.path().string()}, t / "out", t / "err");
  REQUIRE(job.job_pid > 0);
  REQUIRE(wait_until_catching(job.job_pid, SIGQUIT));
  std::atomic<bool> done{false};
  size_t sent = 0;
  std::thread storm([&] {
    while (!done) {
      if (::kill(job.job_pid, SIGQUIT) == 0) ++sent;
      std::this_thread::sleep_for(std::chrono::microseconds(300));
    }
  });
  std::ofstream(t / "start").put('\n');
  // Until the last exec creates `done`, or the job is gone (killed).
  const auto deadline = Clock::now() + std::chrono::seconds(300);
  while (!fs::exists(t / "done") && process_alive(job.job_pid) && Clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  done = true;
  storm.join();
  const int status = job.wait();
  INFO("signals sent " << sent << "; stderr: " << read_file(t / "err"));
  CHECK(status == 0);  // 131 (128 + SIGQUIT) if one came in an exec window unguarded
  CHECK(fs::exists(t / "done"));
  CHECK(sent > 0);
  CHECK_FALSE(image_names(img).empty());
}

TEST_CASE("a statically linked program the job execs or spawns is left alone: no block it could not lift") {
  for (const std::string mode : {"execve", "spawn"}) {
    DYNAMIC_SECTION(mode) {
      TempDir t;
      RunningJob job(t / "img", {kExecProbe, mode, kExecProbeStatic, "wait", t.path().string()}, t / "out",
                     t / "err");
      REQUIRE(job.job_pid > 0);
      const pid_t pid = ready_pid(t.path());
      INFO(read_file(t / "err"));
      check_left_alone(pid);
      std::ofstream(t / "go").put('\n');
      CHECK(job.wait() == 0);
    }
  }
}

TEST_CASE("a set-user-ID or set-group-ID program (the loader ignores LD_PRELOAD) is left alone") {
  TempDir t;
  struct statvfs vfs {};
  if (::geteuid() != 0 || ::statvfs(t.path().c_str(), &vfs) != 0 || (vfs.f_flag & ST_NOSUID)) {
    WARN("needs root and a scratch directory without nosuid to make a set-ID program: not tried");
    return;
  }
  // The program runs as nobody: it must reach and write its directory.
  fs::permissions(t.path(), fs::perms::owner_all | fs::perms::others_exec | fs::perms::group_exec);
  const fs::path dir = t / "shared";
  fs::create_directory(dir);
  fs::permissions(dir, fs::perms::all);
  const fs::path prog = t / "setid-probe";
  for (const bool user : {true, false}) {
    DYNAMIC_SECTION((user ? "set-user-ID nobody" : "set-group-ID nogroup")) {
      fs::copy_file(kExecProbe, prog, fs::copy_options::overwrite_existing);
      REQUIRE(::chown(prog.c_str(), user ? 65534 : 0, 65534) == 0);
      REQUIRE(::chmod(prog.c_str(), user ? 04755 : 02755) == 0);
      RunningJob job(t / "img", {kExecProbe, "execve", prog.string(), "wait", dir.string()}, t / "out", t / "err");
      REQUIRE(job.job_pid > 0);
      const pid_t pid = ready_pid(dir);
      INFO(read_file(t / "err"));
      check_left_alone(pid);
      std::ofstream(dir / "go").put('\n');
      CHECK(job.wait() == 0);
      for (const auto& e : fs::directory_iterator(dir)) fs::remove(e.path());
    }
  }
}

TEST_CASE("an exec that fails leaves the caller's signal mask, errno and environment as they were") {
  TempDir t;
  RunningJob job(t / "img", {kExecFail}, t / "out", t / "err");
  REQUIRE(job.job_pid > 0);
  const int status = job.wait();
  INFO(read_file(t / "err"));
  CHECK(status == 0);
  CHECK(read_file(t / "out") == "checked 28 calls\n");
}
