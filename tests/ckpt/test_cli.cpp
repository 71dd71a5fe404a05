// Command-line validation of run, checkpoint and restart through the binary:
// every bad value is one line on stderr and exit 2 within moments (no hang, no
// overflowed duration, no job started), and periodic checkpoints never reach a
// job before libckpt's handler is installed.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <thread>

#include "ckpt/control.h"
#include "test_helpers.h"

using namespace ckpttest;

namespace {

// Runs cmdline and checks it is refused: exit 2, one line on stderr containing
// `what`, nothing on stdout, well under `limit` (a generous bound: the point is
// that nothing hangs or starts).
void refused_fast(const std::string& cmdline, const std::string& what, double limit_s = 5) {
  const auto t0 = std::chrono::steady_clock::now();
  const CmdResult r = run_shell(cmdline);
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  INFO(cmdline << "\nstderr: " << r.err);
  CHECK(r.status == 2);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  CHECK(r.err.size() < 400);
  CHECK(r.err.find(what) != std::string::npos);
  CHECK(r.out.empty());
  CHECK(took < limit_s);
}

const std::string kBin = shell_quote(kCkptsim);

}  // namespace

TEST_CASE("checkpoint refuses a timeout that is not a finite number in range, and pid 0 in a short line") {
  for (const std::string t : {"nan", "inf", "1e300", "-1", "0", "1e7", "abc"})
    refused_fast(kBin + " checkpoint 1 --wait --timeout " + t, "--timeout");
  refused_fast(kBin + " checkpoint 0", "1 to 4194304");
  refused_fast(kBin + " checkpoint 99999999999", "pid");
}

TEST_CASE("run refuses signals that cannot drive checkpoints and says which can") {
  TempDir t;
  const std::string run = kBin + " run --dir " + (t.path() / "img").string() + " --signal ";
  for (const std::string sig : {"SEGV", "BUS", "ILL", "FPE", "TRAP", "SYS", "CHLD", "CONT", "TSTP", "TTIN", "TTOU",
                                "KILL", "STOP", "SIGSEGV", "11", "17", "32", "33", "65", "0"})
    refused_fast(run + sig + " -- true", "accepted: HUP INT QUIT");
  CHECK(!fs::exists(t.path() / "img"));
  // The accepted ones still work, by name or number, real-time ones included.
  for (const std::string sig : {"USR1", "SIGTERM", "34", "64", "ABRT"})
    CHECK(run_shell(run + sig + " -- true").status == 0);
}

TEST_CASE("the library refuses the same signals in CKPT_SIGNAL and the program runs without checkpoints") {
  TempDir t;
  for (const std::string sig : {"SEGV", "CHLD", "33", "TTIN"}) {
    const CmdResult r = run_shell("LD_PRELOAD=" + shell_quote(kLib) + " CKPT_SIGNAL=" + sig + " CKPT_DIR=" +
                                  (t.path() / "img").string() + " /bin/echo fine");
    INFO(sig);
    CHECK(r.status == 0);
    CHECK(r.out == "fine\n");
    CHECK(r.err == "ckpt: unknown or unusable CKPT_SIGNAL '" + sig + "'; checkpoints disabled\n");
  }
}

TEST_CASE("run refuses intervals outside 0 or 0.0001..1000000 s and an empty directory") {
  TempDir t;
  const std::string run = kBin + " run --dir " + (t.path() / "img").string() + " --interval ";
  for (const std::string i : {"nan", "inf", "-inf", "1e300", "-1", "0.00001", "1000001", "1e-300", "x"})
    refused_fast(run + i + " -- true", "--interval");
  refused_fast(kBin + " run --dir '' -- true", "must not be empty");
  CHECK(!fs::exists(t.path() / "img"));
}

TEST_CASE("run --interval 0.0001 never signals a job before its handler is installed") {
  // A job of about 0.3 s that prints when it is done. Each periodic signal
  // arriving before libckpt's constructor had run used to kill it (exit 131).
  TempDir t;
  const std::string job = "sh -c 'i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; echo done $i'";
  for (int round = 0; round < 10; ++round) {
    const fs::path dir = t.path() / ("img" + std::to_string(round));
    const CmdResult r = run_shell("CKPT_FSYNC=0 " + kBin + " run --dir " + dir.string() + " --interval 0.0001 -- " + job);
    INFO("round " << round << " stderr: " << r.err);
    REQUIRE(r.status == 0);
    CHECK(r.out == "done 20000\n");
  }
}

TEST_CASE("restart refuses an unusable --pid-file before restoring anything") {
  TempDir t;
  RunningJob job(t.path() / "img", {CKPT_PROBE, "alloc", "1", (t.path() / "ready").string()}, t.path() / "out",
                 t.path() / "err");
  REQUIRE(wait_for_file(t.path() / "ready"));
  REQUIRE(!checkpoint_wait(job.job_pid).empty());
  ::kill(job.job_pid, SIGKILL);
  job.wait();
  const std::string image = (t.path() / "img" / "latest").string();
  for (const std::string& bad : {std::string("/proc/x/pid"), (t.path() / "missing" / "pid").string(), t.path().string()})
    refused_fast(kBin + " restart --pid-file " + bad + " " + image, "--pid-file");
  CHECK(!fs::exists(t.path() / "missing"));
  // Nothing was restored: no process runs the probe from that image.
  CHECK(run_shell("pgrep -f '^" + std::string(CKPT_PROBE) + " alloc 1 " + (t.path() / "ready").string() + "'").status != 0);
}

namespace {

// A stand-in job in DIR: python3 (a background job of sh starts with SIGQUIT
// ignored, and sh cannot trap it then) with CKPT_DIR=DIR, which runs
// `on_quit` (a Python function body) when asked for a checkpoint. It owns
// DIR/.ckpt-status, as a restored job does.
struct StandInJob {
  pid_t pid = -1;
  StandInJob(const fs::path& work, const fs::path& dir, const std::string& on_quit) {
    {
      std::ofstream script(work / "job.py");
      script << "import os, signal, time\n"
                "def put(text):\n"
                "    fd = os.open('.ckpt-status', os.O_WRONLY)\n"
                "    os.pwrite(fd, text, 0)\n"
                "    os.close(fd)\n"
                "def on_quit(sig, frame):\n"
             << on_quit
             << "signal.signal(signal.SIGQUIT, on_quit)\n"
                "while True:\n"
                "    time.sleep(0.05)\n";
    }
    const CmdResult started = run_shell("cd " + shell_quote(dir.string()) + " && CKPT_DIR=" + shell_quote(dir.string()) +
                                        " setsid python3 " + shell_quote((work / "job.py").string()) +
                                        " >/dev/null 2>&1 </dev/null & echo $!");
    pid = std::stoi(started.out);
    // (Python's start on a loaded machine can take seconds.)
    REQUIRE(wait_until_catching(pid, SIGQUIT));
  }
  ~StandInJob() { ::kill(-pid, SIGKILL); }
};

}  // namespace

// DIR/.ckpt-status is rewritten in place and the kernel moves its mtime before
// it copies the bytes: a `--wait` that took a new mtime for a new line could
// report the old "ok" as the new dump. The stand-in touches the file first,
// then writes the same "ok" line again, stamped: --wait must return only after that.
TEST_CASE("checkpoint --wait is not fooled by the status file's mtime moving before its line does") {
  TempDir t;
  const fs::path dir = t.path() / "img";
  fs::create_directories(dir / "ckpt-0001");
  { std::ofstream(dir / ".ckpt-status") << "ok 2 ckpt-0002\n@100\n"; }
  StandInJob job(t.path(), dir,
                 "    time.sleep(0.05)\n"
                 "    os.utime('.ckpt-status')  # the mtime moves, the line does not\n"
                 "    time.sleep(0.5)\n"
                 "    put(b'busy 2\\n@150\\n')\n"
                 "    time.sleep(0.1)\n"
                 "    open('written', 'w').close()\n"
                 "    put(b'ok 2 ckpt-0002\\n@200\\n')\n");
  REQUIRE(ckptsim::ckpt::catches_signal(job.pid, SIGQUIT));
  const CmdResult r = run_shell(kBin + " checkpoint " + std::to_string(job.pid) + " --wait --timeout 10");
  INFO(r.err);
  CHECK(r.status == 0);
  CHECK(fs::exists(dir / "written"));
}

// The status file is the job's: a FIFO there (nobody writing it) must not hang
// `checkpoint --wait`, and a link the job puts there must not be followed.
TEST_CASE("checkpoint --wait neither hangs on a FIFO status file nor follows a linked one") {
  TempDir t;
  const fs::path dir = t.path() / "img";
  fs::create_directories(dir / "ckpt-0001");
  std::string on_quit = "    pass\n";
  SECTION("a FIFO") { REQUIRE(::mkfifo((dir / ".ckpt-status").c_str(), 0600) == 0); }
  SECTION("a link, made after the signal, to a file that says the dump is done") {
    { std::ofstream(t.path() / "elsewhere") << "ok 2 ckpt-0002\n@100\n"; }
    { std::ofstream(dir / ".ckpt-status") << "idle 0\n@50\n"; }
    on_quit = "    os.symlink('" + (t.path() / "elsewhere").string() + "', 'link')\n    os.rename('link', '.ckpt-status')\n";
  }
  StandInJob job(t.path(), dir, on_quit);
  REQUIRE(ckptsim::ckpt::catches_signal(job.pid, SIGQUIT));
  const auto t0 = std::chrono::steady_clock::now();
  const CmdResult r = run_shell("timeout 20 " + kBin + " checkpoint " + std::to_string(job.pid) + " --wait --timeout 1");
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  INFO(r.err);
  CHECK(r.status == 2);
  CHECK(r.err.find("timed out waiting for the checkpoint") != std::string::npos);
  CHECK(took < 10);
}
