// A job of several processes (a shell and its child, a parent with an
// unreaped child) is checkpointed as a tree image: tree.json and one ordinary
// image per live process, and the job runs on to its right result. A
// checkpoint sent to a process that is not its job's first (a pipeline's
// stage) is refused in one line naming the others and the process to
// checkpoint instead, no image is written. Independent jobs side by side are
// not one job. (Pipelines and members without the library:
// test_tree_capture.cpp.)
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>
#include <thread>

#include "test_helpers.h"

using namespace ckpttest;

namespace {

// The pid of the job's child whose command line starts with `prefix`, once it runs.
pid_t child_running(pid_t parent, const std::string& prefix) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    std::istringstream kids(read_file("/proc/" + std::to_string(parent) + "/task/" + std::to_string(parent) + "/children"));
    for (pid_t kid; kids >> kid;) {
      std::string cmd = read_file("/proc/" + std::to_string(kid) + "/cmdline");
      std::replace(cmd.begin(), cmd.end(), '\0', ' ');
      if (cmd.rfind(prefix, 0) == 0) return kid;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return -1;
}

// A Python job: SCRIPT written to DIR/job.py, run with DIR as its argument
// (where it notes its pids and waits on its gates: DIR/ready, DIR/go).
std::vector<std::string> python_job(const TempDir& t, const std::string& script) {
  std::ofstream(t / "job.py") << script;
  return {"/usr/bin/python3", (t / "job.py").string(), t.path().string()};
}

// Once the job has reached its gate (DIR/ready) and its first process catches
// the checkpoint signal (the library is loaded).
void wait_at_gate(const RunningJob& job, const TempDir& t) {
  REQUIRE(job.job_pid > 0);
  REQUIRE(wait_for_file(t / "ready"));
  REQUIRE(wait_until_catching(job.job_pid, SIGQUIT));
}

std::string refused_checkpoint(pid_t pid) {
  REQUIRE(wait_until_catching(pid, SIGQUIT));
  CmdResult r;
  CHECK(checkpoint_wait(pid, &r).empty());
  CHECK(r.status != 0);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  CHECK(r.err.find("checkpoint refused: process " + std::to_string(pid) + " (") != std::string::npos);
  return r.err;
}

// ckpt-NNNN -> NNNN (0 for anything else).
unsigned long fmt_number(const std::string& name) {
  return name.rfind("ckpt-", 0) == 0 ? std::stoul(name.substr(5)) : 0;
}

// The refusal left nothing behind, and the job, its gate opened, ends right.
void no_image_and_job_ends(RunningJob& job, const TempDir& t, const std::string& expected_out) {
  CHECK(no_image(t / "img"));
  std::ofstream(t / "go").put('\n');
  CHECK(job.wait() == 0);
  CHECK(read_file(t / "out") == expected_out);
}

// sh waiting for the gate file `go` in `dir`, after writing `ready`.
std::string gated_sh(const fs::path& dir) {
  return "sh -c 'touch " + (dir / "ready").string() + "; while [ ! -e " + (dir / "go").string() +
         " ]; do sleep 0.05; done'";
}

}  // namespace

TEST_CASE("a shell script with a running child: a tree image of both, the job runs on") {
  TempDir t;
  const fs::path img = t / "img";
  RunningJob job(img, {"/bin/bash", "-c", gated_sh(t.path()) + "; echo done-$?"}, t / "out", t / "err");
  REQUIRE(job.job_pid > 0);
  const pid_t child = child_running(job.job_pid, "sh -c");
  REQUIRE(child > 0);
  REQUIRE(wait_for_file(t / "ready"));
  REQUIRE(wait_until_catching(job.job_pid, SIGQUIT));
  REQUIRE(wait_until_catching(child, SIGQUIT));
  CmdResult r;
  const std::string image = checkpoint_wait(job.job_pid, &r);
  INFO(r.err);
  REQUIRE(image == (img / "ckpt-0001").string());
  const TreeReport rep = check_tree_image(image);
  const auto* root = rep.process(job.job_pid);
  const auto* kid = rep.process(child);
  REQUIRE(root);
  REQUIRE(kid);
  CHECK(rep.tree.at("root") == job.job_pid);
  CHECK(rep.tree.at("processes")[0].at("pid") == job.job_pid);
  CHECK(root->at("comm") == "bash");
  CHECK(root->at("ppid") != job.job_pid);
  CHECK(kid->at("comm") == "sh");
  CHECK(kid->at("ppid") == job.job_pid);
  CHECK(kid->at("state") == "live");
  CHECK(kid->at("pgid") == root->at("pgid"));
  CHECK(kid->at("sid") == root->at("sid"));
  CHECK(fs::is_regular_file(fs::path(image) / ("proc-" + std::to_string(child)) / "core"));
  // The shell and its child share their stdout and stderr (fork): one open file each.
  bool stdout_shared = false;
  for (const auto& g : rep.tree.at("shared_files"))
    for (const auto& e : g)
      stdout_shared |= e.at("pid") == child && e.at("fd") == 1;
  CHECK(stdout_shared);
  std::ofstream(t / "go").put('\n');
  CHECK(job.wait() == 0);
  CHECK(read_file(t / "out") == "done-0\n");
}

TEST_CASE("one stage of a pipeline: refused naming its parent shell and the other stage") {
  TempDir t;
  const fs::path img = t / "img";
  RunningJob job(img, {"/bin/bash", "-c", gated_sh(t.path()) + " | cat; echo done"}, t / "out", t / "err");
  REQUIRE(job.job_pid > 0);
  const pid_t stage = child_running(job.job_pid, "sh -c");
  const pid_t other = child_running(job.job_pid, "cat ");
  REQUIRE(stage > 0);
  REQUIRE(other > 0);
  REQUIRE(wait_for_file(t / "ready"));
  const std::string err = refused_checkpoint(stage);
  INFO(err);
  CHECK(err.find("parent " + std::to_string(job.job_pid) + " (bash)") != std::string::npos);
  CHECK(err.find("checkpoint process " + std::to_string(job.job_pid) + ", the job's first process, instead") !=
        std::string::npos);
  CHECK(err.find(std::to_string(other) + " (cat)") != std::string::npos);
  no_image_and_job_ends(job, t, "done\n");
}

TEST_CASE("a child that exited and is not yet reaped: recorded in the tree with its exit status") {
  TempDir t;
  const fs::path img = t / "img";
  const std::string script =
      "import os, sys, time\n"
      "pid = os.fork()\n"
      "if pid == 0:\n"
      "    os._exit(7)\n"
      "open(sys.argv[1] + '/kid', 'w').write(str(pid))\n"
      "open(sys.argv[1] + '/ready', 'w').close()\n"
      "while not os.path.exists(sys.argv[1] + '/go'):\n"
      "    time.sleep(0.05)\n"
      "print(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))\n";
  RunningJob job(img, python_job(t, script), t / "out", t / "err");
  wait_at_gate(job, t);
  const pid_t kid = std::stoi(read_file(t / "kid"));
  CmdResult r;
  const std::string image = checkpoint_wait(job.job_pid, &r);
  INFO(r.err);
  REQUIRE(!image.empty());
  const TreeReport rep = check_tree_image(image);
  CHECK(rep.tree.at("processes").size() == 2);
  CHECK(rep.images.size() == 1);
  const auto* zombie = rep.process(kid);
  REQUIRE(zombie);
  CHECK(zombie->at("state") == "zombie");
  CHECK(zombie->at("ppid") == job.job_pid);
  CHECK(zombie->at("exit_status") == 7 << 8);  // the raw wait status of _exit(7)
  CHECK(!fs::exists(fs::path(image) / ("proc-" + std::to_string(kid))));
  std::ofstream(t / "go").put('\n');
  CHECK(job.wait() == 0);
  CHECK(read_file(t / "out") == "7\n");
}

// The daemon's double fork: the job forks C1, C1 calls setsid, forks the
// daemon and exits. Under `ckptsim run` the job's first process is a child
// subreaper, so the daemon is its child, and the tree records it so, in C1's
// session and group; the first process's manifest says it is a subreaper.
TEST_CASE("a daemon's double fork: the daemon is the first process's child in the tree, in its gone leader's session") {
  TempDir t;
  const fs::path img = t / "img";
  const std::string script =
      "import os, sys, time\n"
      "d = sys.argv[1]\n"
      "r, w = os.pipe()\n"
      "c1 = os.fork()\n"
      "if c1 == 0:\n"
      "    os.setsid()\n"
      "    if os.fork() > 0:\n"
      "        os._exit(0)\n"
      "    open(d + '/daemon.tmp', 'w').write(str(os.getpid()))\n"
      "    os.rename(d + '/daemon.tmp', d + '/daemon')  # whole when it appears\n"
      "    while not os.path.exists(d + '/go'):\n"
      "        time.sleep(0.05)\n"
      "    os.write(w, b'daemon done\\n')\n"
      "    os._exit(0)\n"
      "os.close(w)\n"
      "os.waitpid(c1, 0)\n"
      "open(d + '/c1', 'w').write(str(c1))\n"
      "while not os.path.exists(d + '/daemon'):\n"
      "    time.sleep(0.05)\n"
      "open(d + '/ready', 'w').close()\n"
      "sys.stdout.write(os.read(r, 100).decode())\n";
  RunningJob job(img, python_job(t, script), t / "out", t / "err");
  wait_at_gate(job, t);
  const pid_t c1 = std::stoi(read_file(t / "c1")), daemon = std::stoi(read_file(t / "daemon"));
  // A failed check must not leave the daemon waiting for its gate (the job's end leaves it to init).
  struct KillAtEnd {
    pid_t pid;
    ~KillAtEnd() {
      if (pid > 0) ::kill(pid, SIGKILL);
    }
  } daemon_guard{daemon};
  CmdResult r;
  const std::string image = checkpoint_wait(job.job_pid, &r);
  INFO(r.err);
  REQUIRE(!image.empty());
  const TreeReport rep = check_tree_image(image);
  CHECK(rep.tree.at("processes").size() == 2);
  const auto* d = rep.process(daemon);
  REQUIRE(d);
  CHECK(d->at("state") == "live");
  CHECK(d->at("ppid") == job.job_pid);
  CHECK(d->at("sid") == c1);
  CHECK(d->at("pgid") == c1);
  CHECK(!rep.process(c1));
  REQUIRE(rep.images.size() == 2);
  CHECK(rep.images[0].manifest.at("process").at("child_subreaper") == true);  // the first process
  CHECK(rep.images[1].manifest.at("process").at("child_subreaper") == false);
  std::ofstream(t / "go").put('\n');
  daemon_guard.pid = 0;  // it ends by itself now (its pid may soon be another process's)
  CHECK(job.wait() == 0);
  CHECK(read_file(t / "out") == "daemon done\n");
}

TEST_CASE("two independent jobs side by side are not one job: each checkpoints alone") {
  TempDir t;
  RunningJob a(t / "img-a", {"/bin/sh", "-c", "while [ ! -e " + (t / "go").string() + " ]; do :; done"}, t / "out-a",
               t / "err-a");
  RunningJob b(t / "img-b", {"/bin/sh", "-c", "while [ ! -e " + (t / "go").string() + " ]; do :; done"}, t / "out-b",
               t / "err-b");
  REQUIRE(wait_until_catching(a.job_pid, SIGQUIT));
  REQUIRE(wait_until_catching(b.job_pid, SIGQUIT));
  CmdResult r;
  CHECK(checkpoint_wait(a.job_pid, &r) == (t / "img-a" / "ckpt-0001").string());
  INFO(r.err);
  CHECK(checkpoint_wait(b.job_pid, &r) == (t / "img-b" / "ckpt-0001").string());
  INFO(r.err);
  CHECK(check_image(t / "img-a" / "ckpt-0001").manifest.at("process").at("children").empty());
  std::ofstream(t / "go").put('\n');
  CHECK(a.wait() == 0);
  CHECK(b.wait() == 0);
}

TEST_CASE("run --interval --keep 2 on a shell with a child: tree images, the old ones removed whole, the job ends right") {
  TempDir t;
  const fs::path img = t / "img";
  RunningJob job(img, {"/bin/bash", "-c", gated_sh(t.path()) + "; echo done-$?"}, t / "out", t / "err",
                 {"--interval", "0.2", "--keep", "2"});
  REQUIRE(job.job_pid > 0);
  REQUIRE(wait_for_file(t / "ready"));
  CHECK(wait_for_images(img, 2));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (std::chrono::steady_clock::now() < deadline &&
         fmt_number(image_names(img).empty() ? "" : image_names(img).back()) < 4)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const auto before_go = image_names(img);
  const unsigned long last_with_child = fmt_number(before_go.empty() ? "" : before_go.back());
  std::ofstream(t / "go").put('\n');
  CHECK(job.wait() == 0);
  INFO(read_file(t / "err"));
  CHECK(read_file(t / "out") == "done-0\n");
  // The dumps are forked (run's default): the last one's writer may still be
  // committing its image and removing the old ones.
  REQUIRE(wait_for_writers(img));
  const auto names = image_names(img);
  CHECK(names.size() <= 2);
  // Once the child has ended, the interval may still dump bash alone: an
  // ordinary single-process image, as it should be.
  for (const auto& n : names)
    if (fmt_number(n) <= last_with_child) check_tree_image(img / n);
    else CHECK((fs::is_regular_file(img / n / "tree.json") || fs::is_regular_file(img / n / "manifest.json")));
  for (const auto& e : fs::directory_iterator(img))  // no half-removed image, no temp dir left
    CHECK(e.path().filename().string().rfind(".tmp-", 0) != 0);
}

// A forked dump's writer (and the core writer task it starts) is the dump's,
// not the job's: a checkpoint that arrives while it still writes waits for it
// (the directory's lock, up to 2 s) instead of being refused as "a job of
// several". The writer is held stopped mid-core, so the second dump meets it
// for sure; it then gives up waiting, saying so, and the job runs on.
TEST_CASE("a checkpoint during a forked dump's write waits for the writer, not refused as a job of several") {
  TempDir t;
  const fs::path img = t / "img", ready = t / "ready";
  RunningJob job(img, {CKPT_PROBE, "alloc", "64", ready.string()}, t / "out", t / "err", {"--fork", "--keep", "10"});
  REQUIRE(wait_for_file(ready, std::chrono::seconds(300)));
  REQUIRE(wait_until_catching(job.job_pid, SIGQUIT));
  const auto children = [](pid_t pid) {
    return read_file("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
  };
  const std::string proc = "/proc/" + std::to_string(job.job_pid);
  const auto in_handler = [&] {  // SIGQUIT blocked: the job's handler runs
    const std::string status = read_file(proc + "/status");
    const size_t at = status.find("SigBlk:");
    return at == std::string::npos || (std::stoull(status.substr(at + 7), nullptr, 16) & (1ull << (SIGQUIT - 1)));
  };
  ::kill(job.job_pid, SIGQUIT);
  // The writer, and its core writer task: the core is being written. Stop both.
  pid_t writer = -1, task = -1;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    std::istringstream w(children(job.job_pid));
    if (w >> writer) {
      std::istringstream k(children(writer));
      if (k >> task) break;
    }
    std::this_thread::yield();
  }
  REQUIRE(task > 0);
  ::kill(task, SIGSTOP);
  ::kill(writer, SIGSTOP);
  while (in_handler() && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  ::kill(job.job_pid, SIGQUIT);
  const auto said = [&] { return read_file(t / "err").find("ckpt: checkpoint") != std::string::npos; };
  while (!said() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ::kill(task, SIGCONT);
  ::kill(writer, SIGCONT);
  const std::string err = read_file(t / "err");
  INFO(err);
  CHECK(err.find("refused") == std::string::npos);
  CHECK(err.find("the previous checkpoint is still being written") != std::string::npos);
  // The first image completes, and the job checkpoints again.
  CHECK(wait_for_images(img, 1, std::chrono::seconds(120)));
  CHECK(checkpoint_wait(job.job_pid) == (img / "ckpt-0002").string());
  ::kill(job.job_pid, SIGTERM);
  CHECK(job.wait() == 0);
}
