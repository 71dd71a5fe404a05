// Capturing a process tree (docs/image-format.md "Process trees"): a pipeline
// with bytes in flight is one tree image whose pipes have both ends inside it
// and whose shared stdio is one open file per group; a process of the job
// that does not carry the library makes the checkpoint refused naming it,
// with nothing left behind and the job running on to its right result.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <catch2/catch.hpp>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "ckpt/image_format.h"
#include "test_helpers.h"

using namespace ckpttest;
namespace fmt = ckptsim::image_format;

namespace {

std::vector<pid_t> children_of(pid_t pid) {
  std::istringstream kids(read_file("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children"));
  std::vector<pid_t> out;
  for (pid_t kid; kids >> kid;) out.push_back(kid);
  return out;
}

std::string comm_of(pid_t pid) {
  std::string c = read_file("/proc/" + std::to_string(pid) + "/comm");
  if (!c.empty() && c.back() == '\n') c.pop_back();
  return c;
}

// The job's children once there are `n` of them, each catching SIGQUIT.
std::vector<pid_t> wait_children(pid_t job, size_t n) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    const auto kids = children_of(job);
    if (kids.size() >= n) return kids;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return {};
}

struct PipeUse {
  std::set<long> readers, writers;  // pids
  uint64_t data = 0;                // bytes saved by its first reader that saved any
};

// Every pipe object of the tree's images, by inode.
std::map<uint64_t, PipeUse> pipes_of(const TreeReport& rep) {
  std::map<uint64_t, PipeUse> pipes;
  for (const auto& img : rep.images)
    for (const auto& fd : img.manifest.at("fds")) {
      if (!fd.contains("object") || fd.at("object").at("type") != "pipe" || fd.at("object").contains("dup_of"))
        continue;
      PipeUse& u = pipes[fd.at("object").at("id").get<uint64_t>()];
      const int acc = fd.at("flags").get<int>() & 3;
      if (acc != 1) u.readers.insert(img.manifest.at("pid").get<long>());
      if (acc != 0) u.writers.insert(img.manifest.at("pid").get<long>());
      if (fd.at("object").contains("data") && !u.data) u.data = fd.at("object").at("data").at("size");
    }
  return pipes;
}

bool in_one_group(const TreeReport& rep, const std::vector<std::pair<pid_t, int>>& fds) {
  for (const auto& g : rep.tree.at("shared_files")) {
    size_t found = 0;
    for (const auto& want : fds)
      for (const auto& e : g) found += e.at("pid") == want.first && e.at("fd") == want.second;
    if (found == fds.size()) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("a pipeline seq | gate; gzip | sha256sum under bash with bytes in flight: one tree image, the job runs on") {
  TempDir t;
  const fs::path img = t / "img", go = t / "go";
  const std::string gate = "{ while [ ! -e " + go.string() + " ]; do sleep 0.05; done; gzip -1; }";
  RunningJob job(img, {"/bin/bash", "-c", "seq 1 300000 | " + gate + " | sha256sum; echo end"}, t / "out", t / "err");
  REQUIRE(job.job_pid > 0);
  REQUIRE(wait_until_catching(job.job_pid, SIGQUIT));
  const auto kids = wait_children(job.job_pid, 3);
  REQUIRE(kids.size() == 3);
  for (pid_t k : kids) REQUIRE(wait_until_catching(k, SIGQUIT));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // seq fills its pipe and blocks
  CmdResult r;
  const std::string image = checkpoint_wait(job.job_pid, &r);
  INFO(r.err);
  REQUIRE(!image.empty());
  const TreeReport rep = check_tree_image(image);
  pid_t seq = -1, sum = -1, sub = -1;
  for (pid_t k : kids) {
    REQUIRE(rep.process(k));
    CHECK(rep.process(k)->at("ppid") == job.job_pid);
    const std::string c = comm_of(k);
    (c == "seq" ? seq : c == "sha256sum" ? sum : sub) = k;
  }
  REQUIRE(seq > 0);
  REQUIRE(sum > 0);
  REQUIRE(sub > 0);
  // Each pipe has its ends inside the tree; the stage-1 pipe holds seq's bytes, saved by its reader.
  const auto pipes = pipes_of(rep);
  CHECK(pipes.size() >= 2);
  bool seq_pipe = false;
  for (const auto& [id, use] : pipes) {
    INFO("pipe " << id);
    CHECK(!use.readers.empty());
    CHECK(!use.writers.empty());
    if (use.writers.count(seq)) {
      seq_pipe = true;
      CHECK(use.readers.count(sub));
      CHECK(use.data > 0);
    }
  }
  CHECK(seq_pipe);
  // Every stage writes its errors to the job's stderr: one open file, in one group.
  CHECK(in_one_group(rep, {{job.job_pid, 2}, {seq, 2}, {sub, 2}, {sum, 2}}));
  CHECK(in_one_group(rep, {{job.job_pid, 1}, {sum, 1}}));
  // The status line counts the tree's live processes: bash, its three stages
  // (and the gate's `sleep` when one was running), as many as the images.
  const std::string status = read_file(img / fmt::kStatusFile);
  CHECK(rep.images.size() >= 4);
  CHECK(status.substr(0, status.find('\n')) ==
        "ok 1 " + fs::path(image).filename().string() + " processes: " + std::to_string(rep.images.size()));
  for (const auto& g : rep.tree.at("shared_files")) {  // one fd per process in a group
    std::set<long> pids;
    for (const auto& e : g) CHECK(pids.insert(e.at("pid").get<long>()).second);
    CHECK(pids.size() >= 2);
  }
  // Each process's image is an ordinary ELF core gdb opens with its executable's copy.
  if (fs::exists("/usr/bin/gdb"))
    for (pid_t p : {job.job_pid, seq, sum}) {
      const fs::path proc = fs::path(image) / (fmt::kProcDirPrefix + std::to_string(p));
      const CmdResult g = run_shell("/usr/bin/gdb -batch -ex bt " + shell_quote((proc / fmt::kExeCopy).string()) + " " +
                                    shell_quote((proc / fmt::kCore).string()) + " 2>&1");
      INFO("gdb on " << proc << ":\n" << g.out);
      CHECK(g.status == 0);
      CHECK(g.out.find("#0 ") != std::string::npos);
      CHECK(g.out.find("Core was generated by") != std::string::npos);
    }
  std::ofstream(go).put('\n');
  CHECK(job.wait() == 0);
  const CmdResult plain = run_shell("seq 1 300000 | gzip -1 | sha256sum; echo end");
  CHECK(read_file(t / "out") == plain.out);
}

TEST_CASE("a process of the job without the library: refused naming it, no image, the job runs on") {
  TempDir t;
  const fs::path img = t / "img", go = t / "go", ready = t / "ready";
  RunningJob job(img,
                 {"/bin/bash", "-c",
                  std::string(CKPT_STATIC_GATE) + " " + go.string() + " " + ready.string() + "; echo done-$?"},
                 t / "out", t / "err");
  REQUIRE(job.job_pid > 0);
  REQUIRE(wait_for_file(ready));
  REQUIRE(wait_until_catching(job.job_pid, SIGQUIT));
  const auto kids = wait_children(job.job_pid, 1);
  REQUIRE(kids.size() == 1);
  CmdResult r;
  CHECK(checkpoint_wait(job.job_pid, &r).empty());
  INFO(r.err);
  CHECK(r.status != 0);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  CHECK(r.err.find("checkpoint refused: process " + std::to_string(kids[0]) + " (ckpt_static_gat) of the job does not carry the "
                   "checkpoint library") != std::string::npos);
  CHECK(no_image(img));
  CHECK(read_file(t / "err").find("ckpt: checkpoint refused: process " + std::to_string(kids[0])) != std::string::npos);
  std::ofstream(go).put('\n');
  CHECK(job.wait() == 0);
  CHECK(read_file(t / "out") == "done-0\n");
}

TEST_CASE("a refused tree lets the members already stopped go on: a stage with the library, one without") {
  TempDir t;
  const fs::path img = t / "img", go = t / "go";
  const std::string gate = "while [ ! -e " + go.string() + " ]; do sleep 0.05; done";
  RunningJob job(img,
                 {"/bin/bash", "-c",
                  "{ " + gate + "; echo first; } | " + std::string(CKPT_STATIC_GATE) + " " + go.string() + " --cat; echo done"},
                 t / "out", t / "err");
  REQUIRE(job.job_pid > 0);
  REQUIRE(wait_until_catching(job.job_pid, SIGQUIT));
  const auto kids = wait_children(job.job_pid, 2);
  REQUIRE(kids.size() == 2);
  // The stage without the library is so only once it has exec'd.
  const auto runs_gate = [&kids] {
    for (pid_t k : kids) {
      std::error_code ec;
      if (fs::read_symlink("/proc/" + std::to_string(k) + "/exe", ec) == fs::path(CKPT_STATIC_GATE)) return true;
    }
    return false;
  };
  for (int i = 0; i < 200 && !runs_gate(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(25));
  REQUIRE(runs_gate());
  CmdResult r;
  CHECK(checkpoint_wait(job.job_pid, &r).empty());
  INFO(r.err);
  CHECK(r.err.find("does not carry the checkpoint library") != std::string::npos);
  CHECK(no_image(img));
  std::ofstream(go).put('\n');
  CHECK(job.wait() == 0);
  CHECK(read_file(t / "out") == "first\ndone\n");
}
