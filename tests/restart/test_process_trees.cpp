// The jobs of issue 19, as a cluster user runs them: each is checkpointed at
// 40 %, every process SIGKILLed at 60 %, and restored twice (tree_jobs.h).
// Before process trees, none came back and five restored to a wrong result
// with exit status 0.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "tree_jobs.h"

using namespace restart_test;

namespace {

// A Python producer of `lines` lines, flushed every `every` lines, `pause` s apart.
std::string slow_lines(int lines, int every, const char* pause, const char* progress_to = "") {
  return std::string("python3 -u -c '\nimport sys, time\nfor i in range(") + std::to_string(lines) +
         "):\n    sys.stdout.write(\"%08d\\n\" % i)\n    if i % " + std::to_string(every) +
         " == 0:\n        sys.stdout.flush(); sys.stderr.write(\".\"); sys.stderr.flush(); time.sleep(" + pause +
         ")\n' " + progress_to;
}

TreeJob bash_job(std::string script) {
  TreeJob j;
  j.argv = {"/bin/bash", "job.sh"};
  j.script = std::move(script);
  return j;
}

}  // namespace

TEST_CASE("trees: a batch script that runs a Python step, then awk, and exits 3") {
  TreeJob j = bash_job(
      "python3 -u -c '\nimport time\nfor i in range(400):\n    print(i, i * i, flush=True); time.sleep(0.01)\n' > out\n"
      "awk '{ s += $2 } END { print \"sum\", s }' out > total\ncat total >> out\nexit 3\n");
  CHECK(check_tree_job(j) == TreeOutcome::restored);
}

TEST_CASE("trees: a pipeline python | gzip | sha256sum with bytes in flight") {
  TreeJob j = bash_job(slow_lines(3000, 10, "0.01", "2> progress") + "| gzip -1 | sha256sum > out\n");
  j.progress = "progress";
  CHECK(check_tree_job(j) == TreeOutcome::restored);
}

// The three jobs below append to `out` from short-lived processes (`>> out`):
// at the checkpoint no process holds `out` open, and the library's journal of
// written files is what lets the restore undo the lines written after it.
TEST_CASE("trees: a shell loop running short pipelines") {
  TreeJob j = bash_job("for i in $(seq 1 100); do echo \"line $i\" | sha256sum | cut -c1-16 >> out; sleep 0.02; done\n");
  CHECK(check_tree_job(j) == TreeOutcome::restored);
}

TEST_CASE("trees: xargs -P2 running shells that run sleep") {
  TreeJob j = bash_job("seq 1 120 | xargs -P2 -n1 sh -c 'sleep 0.05; echo \"item $0\" >> out'\n");
  j.sort_lines = true;
  CHECK(check_tree_job(j) == TreeOutcome::restored);
}

TEST_CASE("trees: make -j2 (its jobserver is a pipe shared by make and its children)") {
  TreeJob j = bash_job(
      "cat > Makefile <<'MK'\nT := $(addprefix t,$(shell seq 1 60))\n.PHONY: all $(T)\nall: $(T)\n\t@echo done >> out\n"
      "$(T):\n\t@sleep 0.1; echo $@ >> out\nMK\nmake -s -j2 all\n");
  j.sort_lines = true;
  CHECK(check_tree_job(j) == TreeOutcome::restored);
}

// Runtimes that own the checkpoint signal (their threads block it, the JVM
// handles SIGQUIT) as the working step of a batch script.
TEST_CASE("trees: a batch script running node, then counting its lines") {
  REQUIRE(fs::exists("/usr/bin/node"));
  TreeJob j = bash_job("/usr/bin/node " + std::string(CKPTSIM_SOURCE_DIR) +
                       "/tests/restart/progs/count_job.js out\nwc -l < out > total\n");
  j.outputs = {"out", "total"};
  CHECK(check_tree_job(j) == TreeOutcome::restored);
}

TEST_CASE("trees: a batch script running java -Xint, then counting its lines") {
  INFO("CountJob.class is built from tests/restart/progs/CountJob.java when javac is found (openjdk-17-jdk-headless)");
  REQUIRE(fs::exists(fs::path(COUNT_JOB_CLASS_DIR) / "CountJob.class"));
  TreeJob j = bash_job("/usr/bin/java -Xint -cp " + std::string(COUNT_JOB_CLASS_DIR) + " CountJob out\nwc -l < out > total\n");
  j.outputs = {"out", "total"};
  CHECK(check_tree_job(j) == TreeOutcome::restored);
}

TEST_CASE("trees: a parent reading what its child sends through a unix socket pair, bytes in flight") {
  TreeJob j;
  j.argv = {"/usr/bin/python3", "-c",
            "import os, socket, time\n"
            "a, b = socket.socketpair()\n"
            "child = os.fork()\n"
            "if child == 0:\n"
            "    a.close()\n"
            "    for i in range(300):\n"
            "        b.sendall(b'%08d\\n' % (i * i)); time.sleep(0.01)\n"
            "    b.close(); os._exit(0)\n"
            "b.close()\n"
            "with open('out', 'wb') as o:\n"
            "    for line in a.makefile('rb'):\n"
            "        o.write(line); o.flush(); time.sleep(0.002)\n"
            "os.waitpid(child, 0)\n"};
  CHECK(check_tree_job(j) == TreeOutcome::restored);
}

TEST_CASE("trees: Python reading a subprocess.Popen pipe") {
  TreeJob j;
  j.argv = {"/usr/bin/python3", "-c",
            "import subprocess, sys\n"
            "p = subprocess.Popen(['bash', '-c', 'for i in $(seq 1 300); do echo $i; sleep 0.01; done'],"
            " stdout=subprocess.PIPE, text=True)\n"
            "with open('out', 'w') as o:\n"
            "    for line in p.stdout:\n"
            "        o.write('%d\\n' % (int(line) ** 2)); o.flush()\n"
            "sys.exit(p.wait())\n"};
  CHECK(check_tree_job(j) == TreeOutcome::restored);
}

TEST_CASE("trees: python | tee log | awk") {
  TreeJob j = bash_job(slow_lines(2000, 10, "0.01", "2> progress") + "| tee log | awk '{ print $1 * 2; fflush() }' > out\n");
  j.progress = "progress";
  j.outputs = {"out", "log"};
  CHECK(check_tree_job(j) == TreeOutcome::restored);
}

TEST_CASE("trees: a parent with an unreaped zombie child reaps it after the restore, under the same pid") {
  TreeJob j;
  j.argv = {"/usr/bin/python3", "-c",
            "import os, sys, time\n"
            "child = os.fork()\n"
            "if child == 0:\n    os._exit(5)\n"
            "with open('out', 'w') as o:\n"
            "    for i in range(300):\n        o.write('%d\\n' % i); o.flush(); time.sleep(0.01)\n"
            "    pid, status = os.waitpid(child, 0)\n"
            "    o.write('same pid %s, exit %d\\n' % (pid == child, os.waitstatus_to_exitcode(status)))\n"
            "sys.exit(4)\n"};
  CHECK(check_tree_job(j) == TreeOutcome::restored);
}

// The job of the two tests below: C1's daemon writes `out`, says its total to
// the first process through a pipe, and the first process writes it to
// `result` and exits 6.
const char* const kDaemonJob =
    "import os, sys, time\n"
    "root = os.getpid()\n"
    "r, w = os.pipe()\n"
    "c1 = os.fork()\n"
    "if c1 == 0:\n"
    "    os.close(r)\n"
    "    os.setsid()\n"
    "    if os.fork() > 0:\n        os._exit(0)\n"
    "    sid, pgid = os.getsid(0), os.getpgid(0)\n"
    "    total = 0\n"
    "    with open('out', 'w') as o:\n"
    "        for i in range(300):\n"
    "            total += i * i\n"
    "            o.write('%d %d\\n' % (i, total)); o.flush(); time.sleep(0.01)\n"
    "    with open('ids', 'w') as f:\n"
    "        f.write('%d %d %d %d %d %d\\n' % (root, sid, pgid, os.getsid(0), os.getpgid(0), os.getppid()))\n"
    "    os.write(w, b'total %d\\n' % total)\n"
    "    os._exit(0)\n"
    "os.close(w)\n"
    "os.waitpid(c1, 0)\n"
    "open('c1', 'w').write('%d\\n' % c1)\n"
    "said = b''\n"
    "while True:\n"
    "    b = os.read(r, 4096)\n"
    "    if not b:\n        break\n"
    "    said += b\n"
    "open('result', 'wb').write(said)\n"
    "sys.exit(6)\n";

// The classic daemon: the job forks C1, C1 calls setsid and forks the daemon,
// C1 exits. The daemon is reparented to the job's first process (a child
// subreaper under `ckptsim run`), so it is in the tree; its session's leader
// (C1) is gone, and the restore recreates that session with a helper under
// C1's pid. The daemon writes `out` and, at its end, says its total through a
// pipe to the first process, which waits for it and exits 6.
TEST_CASE("trees: a daemonising double fork (fork, setsid, fork, exit) whose daemon writes the output") {
  TreeJob j;
  j.argv = {"/usr/bin/python3", "-c", kDaemonJob};
  j.outputs = {"out", "result"};
  // What the daemon saw before the checkpoint (its first process, its
  // session and group: C1's pid) and after the restore: the same.
  j.check_restored = [](const fs::path& cwd, pid_t root) {
    std::istringstream ids(read_file(cwd / "ids"));
    pid_t recorded_root = 0, sid = 0, pgid = 0, sid_now = 0, pgid_now = 0, ppid_now = 0;
    ids >> recorded_root >> sid >> pgid >> sid_now >> pgid_now >> ppid_now;
    const pid_t c1 = std::stoi(read_file(cwd / "c1"));
    INFO("ids: " << read_file(cwd / "ids") << "root " << root << ", C1 " << c1);
    CHECK(recorded_root == root);
    CHECK(sid == c1);
    CHECK(pgid == c1);
    CHECK(sid_now == sid);
    CHECK(pgid_now == pgid);
    CHECK(ppid_now == root);
    fs::remove(cwd / "ids");  // the next restore writes it again
  };
  CHECK(check_tree_job(j) == TreeOutcome::restored);
}

// A restored daemon's tree is checkpointed again through its init (the
// daemon's session is the helper's now, inside the namespace), killed, and
// restored from that image: it ends as the uninterrupted run does.
TEST_CASE("trees: a daemonising double fork, checkpointed again after its restore, comes back again") {
  TempDir ref, dir;
  REQUIRE(run({"/usr/bin/python3", "-c", kDaemonJob}, ref.path(), Redirect{}) == 6);
  const fs::path cwd = dir / "run";
  fs::create_directories(cwd);
  auto progress = [&] { return read_file(cwd / "out").size(); };
  const size_t total = read_file(ref / "out").size();
  Job job = start_job(dir / "img", {"/usr/bin/python3", "-c", kDaemonJob}, cwd, Redirect{});
  REQUIRE(eventually([&] { return progress() >= total * 3 / 10; }));
  REQUIRE(eventually([&] { return checkpoint(job.pid); }));
  kill_job_tree(job);
  const fs::path pid_file = dir / "restart.pid";
  const pid_t restarter = spawn({ckptsim_exe(), "restart", (dir / "img" / "latest").string(), "--pid-file",
                                 pid_file.string()}, cwd, Redirect{});
  REQUIRE(eventually([&] { return fs::exists(pid_file) && fs::file_size(pid_file) > 0; }));
  const pid_t init = std::stoi(read_file(pid_file));
  REQUIRE(eventually([&] { return progress() >= total * 5 / 10; }));
  REQUIRE(eventually([&] { return checkpoint(init); }));
  ::kill(init, SIGKILL);
  CHECK(wait_status(restarter) == 128 + SIGKILL);
  RestartResult r = restart({(dir / "img" / "latest").string()}, cwd);
  INFO("restart stderr: " << r.stderr_text);
  CHECK(r.status == 6);
  CHECK(read_file(cwd / "out") == read_file(ref / "out"));
  CHECK(read_file(cwd / "result") == read_file(ref / "result"));
}

// Its workers share the pool's queues through pipes and its locks through
// named semaphores (/dev/shm files), all of which a tree restore brings back.
TEST_CASE("trees: multiprocessing.Pool(2)") {
  TreeJob j;
  j.argv = {"/usr/bin/python3", "-c",
            "import multiprocessing, time\n"
            "def f(i):\n    time.sleep(0.02)\n    return i * i\n"
            "if __name__ == '__main__':\n"
            "    with multiprocessing.Pool(2) as p, open('out', 'w') as o:\n"
            "        for r in p.imap(f, range(300), chunksize=1):\n"
            "            o.write('%d\\n' % r); o.flush()\n"};
  CHECK(check_tree_job(j) == TreeOutcome::restored);
}

// A restored tree is checkpointed again through its init's pid, killed whole
// (its init: the namespace goes with it), and restored from that image: ten
// times, then the last restore runs to the end with the uninterrupted output.
// (600 progress dots: 30 before the first checkpoint and 20 more per cycle
// leave the job a third of its run after the last.)
TEST_CASE("trees: a 10-cycle checkpoint, kill, restart chain of python | gzip | sha256sum") {
  constexpr int kCycles = 10;
  const std::string script = slow_lines(6000, 10, "0.01", "2> progress") + "| gzip -1 | sha256sum > out\n";
  TempDir ref, dir;
  write_file(ref / "job.sh", script);
  REQUIRE(run({"/bin/bash", "job.sh"}, ref.path(), Redirect{}) == 0);
  const fs::path cwd = dir / "run";
  fs::create_directories(cwd);
  write_file(cwd / "job.sh", script);
  auto progress = [&] { return read_file(cwd / "progress").size(); };
  Job job = start_job(dir / "img", {"/bin/bash", "job.sh"}, cwd, Redirect{});
  REQUIRE(eventually([&] { return progress() >= 30; }));
  REQUIRE(eventually([&] { return checkpoint(job.pid); }));
  kill_job_tree(job);
  for (int cycle = 0; cycle < kCycles; ++cycle) {
    INFO("cycle " << cycle);
    const fs::path pid_file = dir / ("restart-" + std::to_string(cycle) + ".pid");
    const pid_t restarter = spawn({ckptsim_exe(), "restart", (dir / "img" / "latest").string(), "--pid-file",
                                   pid_file.string()}, cwd, Redirect{});
    REQUIRE(eventually([&] { return fs::exists(pid_file) && fs::file_size(pid_file) > 0; }));
    const pid_t init = std::stoi(read_file(pid_file));
    const size_t at = progress();
    REQUIRE(eventually([&] { return progress() >= at + 20; }));
    REQUIRE(eventually([&] { return checkpoint(init); }));
    ::kill(init, SIGKILL);
    CHECK(wait_status(restarter) == 128 + SIGKILL);
  }
  RestartResult r = restart({(dir / "img" / "latest").string()}, cwd);
  INFO("restart stderr: " << r.stderr_text);
  CHECK(r.status == 0);
  CHECK(read_file(cwd / "out") == read_file(ref / "out"));
}

namespace {

// A process that holds `pid` on the host (ns_last_pid, as root), pausing until
// killed; -1 when another process took it first every time.
pid_t hold_pid(pid_t pid) {
  for (int attempt = 0; attempt < 200; ++attempt) {
    {
      std::ofstream last("/proc/sys/kernel/ns_last_pid");
      last << pid - 1;
      if (!last.flush()) return -1;
    }
    const pid_t c = ::fork();
    if (c == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlives the test
      for (;;) ::pause();
    }
    if (c < 0) return -1;
    if (c == pid) return c;
    ::kill(c, SIGKILL);
    wait_status(c);
  }
  return -1;
}

}  // namespace

TEST_CASE("trees: a job whose pids are taken on the host gets its own back inside the restore") {
  if (::geteuid() != 0) {
    WARN("skipped: taking a given pid on the host (ns_last_pid) and a tree restore need root");
    return;
  }
  TempDir dir;
  const fs::path cwd = dir / "run";
  fs::create_directories(cwd);
  const std::string job =
      "import os, time\n"
      "def wait_go():\n    while not os.path.exists('go'):\n        time.sleep(0.01)\n"
      "child = os.fork()\n"
      "if child == 0:\n    wait_go()\n    open('child.txt', 'w').write('%d\\n' % os.getpid())\n    os._exit(0)\n"
      "open('before.txt', 'w').write('%d %d\\n' % (os.getpid(), child))\n"
      "open('ready', 'w').close()\n"
      "wait_go()\n"
      "pid, status = os.waitpid(child, 0)\n"
      "open('after.txt', 'w').write('%d %d %d\\n' % (os.getpid(), pid, os.waitstatus_to_exitcode(status)))\n";
  Job j = start_job(dir / "img", {"/usr/bin/python3", "-c", job}, cwd, Redirect{});
  REQUIRE(eventually([&] { return fs::exists(cwd / "ready"); }));
  REQUIRE(checkpoint(j.pid));
  kill_job_tree(j);
  pid_t root = 0, child = 0;
  {
    std::istringstream before(read_file(cwd / "before.txt"));
    before >> root >> child;
  }
  REQUIRE(root > 0);
  REQUIRE(child > 0);
  // The killed processes are reaped by whoever inherited them: their pids are free once /proc says so.
  REQUIRE(eventually([&] { return !fs::exists("/proc/" + std::to_string(root)) && !fs::exists("/proc/" + std::to_string(child)); }));
  const pid_t holder_root = hold_pid(root), holder_child = hold_pid(child);
  INFO("root " << root << ", child " << child);
  REQUIRE(holder_root == root);
  REQUIRE(holder_child == child);
  write_file(cwd / "go", "");
  RestartResult r = restart({(dir / "img" / "latest").string()}, cwd);
  INFO("restart stderr: " << r.stderr_text);
  CHECK(r.status == 0);
  CHECK(read_file(cwd / "after.txt") == std::to_string(root) + " " + std::to_string(child) + " 0\n");
  CHECK(read_file(cwd / "child.txt") == std::to_string(child) + "\n");
  // Both pids were the host's processes' all along.
  CHECK(::kill(holder_root, 0) == 0);
  CHECK(::kill(holder_child, 0) == 0);
  ::kill(holder_root, SIGKILL);
  ::kill(holder_child, SIGKILL);
  wait_status(holder_root);
  wait_status(holder_child);
}

// Without root the tree's namespaces belong to a user namespace of the
// restarter's own (uid and gid mapped to themselves): a job run, checkpointed
// and restored as nobody gets every pid back, its parent reaps its child's
// status, and it still runs as nobody.
TEST_CASE("trees: restored without root, in a user namespace of its own, every process gets its pid back") {
  if (::geteuid() != 0) {
    WARN("skipped: needs root to run the job as another user (nobody) through setpriv");
    return;
  }
  constexpr uid_t kNobody = 65534;
  const std::vector<std::string> as_nobody = {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"};
  TempDir dir;
  const fs::path cwd = dir / "run";
  fs::create_directories(cwd);
  REQUIRE(::chown(cwd.c_str(), kNobody, kNobody) == 0);
  REQUIRE(::chmod(dir.path().c_str(), 0755) == 0);
  // nobody runs ckptsim and loads libckpt.so beside it: copies here, since
  // the build directory may lie below one only root can enter (a clone in a
  // 0700 temporary directory).
  const fs::path bin = dir / "bin", ckptsim = bin / "ckptsim";
  fs::create_directories(bin);
  fs::copy_file(ckptsim_exe(), ckptsim);
  fs::copy_file(fs::path(ckptsim_exe()).parent_path() / "libckpt.so", bin / "libckpt.so");
  for (const fs::path& p : {bin, ckptsim, bin / "libckpt.so"}) REQUIRE(::chmod(p.c_str(), 0755) == 0);
  std::vector<std::string> probe = as_nobody;
  probe.insert(probe.end(), {"/usr/bin/unshare", "--user", "--pid", "--fork", "/bin/true"});
  if (run(probe, cwd, Redirect{}) != 0) {
    WARN("skipped: this kernel gives an unprivileged user no user namespace (unshare --user fails)");
    return;
  }
  const std::string job =
      "import os, time\n"
      "def wait_go():\n    while not os.path.exists('go'):\n        time.sleep(0.01)\n"
      "child = os.fork()\n"
      "if child == 0:\n    wait_go()\n    os._exit(5)\n"
      "open('ready.tmp', 'w').write('%d %d\\n' % (os.getpid(), child))\n"
      "os.rename('ready.tmp', 'ready')\n"
      "wait_go()\n"
      "pid, status = os.waitpid(child, 0)\n"
      "open('after.txt', 'w').write('%d %d %d %d\\n' % (os.getpid(), pid, os.waitstatus_to_exitcode(status), os.getuid()))\n";
  std::vector<std::string> argv = as_nobody;
  argv.insert(argv.end(), {ckptsim.string(), "run", "--dir", (cwd / "img").string(), "--", "/usr/bin/python3", "-c", job});
  Job j;
  j.runner = spawn(argv, cwd, Redirect{});
  REQUIRE(eventually([&] { return fs::exists(cwd / "ready"); }));
  pid_t root = 0, child = 0;
  {
    std::istringstream ready(read_file(cwd / "ready"));
    ready >> root >> child;
  }
  REQUIRE(root > 0);
  REQUIRE(child > 0);
  j.pid = root;
  REQUIRE(checkpoint(j.pid));
  kill_job_tree(j);
  write_file(cwd / "go", "");
  std::vector<std::string> restore = as_nobody;
  restore.insert(restore.end(), {ckptsim.string(), "restart", (cwd / "img" / "latest").string()});
  const fs::path err = dir / "restart-err.txt";
  const int status = run(restore, cwd, Redirect{"/dev/null", "/dev/null", err.string()});
  INFO(read_file(err));
  CHECK(status == 0);
  CHECK(read_file(cwd / "after.txt") ==
        std::to_string(root) + " " + std::to_string(child) + " 5 " + std::to_string(kNobody) + "\n");
}
