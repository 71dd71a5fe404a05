#include "tree_jobs.h"

#include <signal.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <set>
#include <sstream>

namespace restart_test {
namespace {

uint64_t size_of(const fs::path& p) {
  std::error_code ec;
  const auto n = fs::file_size(p, ec);
  return ec ? 0 : n;
}

// Parent pid from /proc/PID/stat ("pid (comm) state ppid ..."), -1 when gone.
pid_t parent_of(pid_t pid) {
  const std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream rest(stat.substr(close + 1));
  char state = 0;
  pid_t ppid = -1;
  rest >> state >> ppid;
  return ppid;
}

std::string lines_sorted(const std::string& text, bool sort) {
  if (!sort) return text;
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

void prepare(const TreeJob& job, const fs::path& dir) {
  fs::create_directories(dir);
  if (!job.script.empty()) write_file(dir / "job.sh", job.script);
}

struct Refusal {
  bool refused = false;
  std::string line;
};

// `ckptsim checkpoint PID --wait`, its stderr kept.
Refusal checkpoint_job(pid_t pid, const fs::path& dir) {
  const fs::path err = dir / "checkpoint-stderr.txt";
  const int status = run({ckptsim_exe(), "checkpoint", std::to_string(pid), "--wait"}, "/", Redirect{"/dev/null", "/dev/null", err.string()});
  return Refusal{status != 0, read_file(err)};
}

bool one_line(const std::string& text) { return std::count(text.begin(), text.end(), '\n') == 1; }

}  // namespace

std::vector<pid_t> job_processes(pid_t root) {
  std::set<pid_t> job{root};
  for (bool grew = true; grew;) {
    grew = false;
    for (const auto& e : fs::directory_iterator("/proc")) {
      const std::string name = e.path().filename();
      if (name.find_first_not_of("0123456789") != std::string::npos) continue;
      const pid_t pid = std::stoi(name);
      if (!job.count(pid) && job.count(parent_of(pid))) grew = job.insert(pid).second || grew;
    }
  }
  return {job.begin(), job.end()};
}

void kill_job_tree(Job& job) {
  std::set<pid_t> stopped;
  for (bool more = true; more;) {
    more = false;
    for (pid_t p : job_processes(job.pid))
      if (stopped.insert(p).second) ::kill(p, SIGSTOP), more = true;
  }
  for (pid_t p : stopped) ::kill(p, SIGKILL);
  kill_job(job);
}

TreeOutcome check_tree_job(const TreeJob& tj) {
  TempDir ref, dir;
  prepare(tj, ref.path());
  Redirect ref_io;
  ref_io.err = (ref / "stderr.txt").string();
  const int expected_status = run(tj.argv, ref.path(), ref_io);
  const uint64_t total = size_of(ref / tj.progress);
  REQUIRE(total > 0);

  const fs::path cwd = dir / "run";
  prepare(tj, cwd);
  Redirect io;
  io.err = (dir / "stderr.txt").string();
  Job job = start_job(dir / "img", tj.argv, cwd, io);
  REQUIRE(eventually([&] { return size_of(cwd / tj.progress) >= total * 4 / 10; }));
  const Refusal refusal = checkpoint_job(job.pid, dir.path());
  const uint64_t at_checkpoint = size_of(cwd / tj.progress);
  INFO("checkpoint stderr: " << refusal.line << "progress at the checkpoint " << at_checkpoint << " of " << total);
  if (refusal.refused) {
    CHECK(tj.may_refuse);
    CHECK(one_line(refusal.line));
    kill_job_tree(job);
    return TreeOutcome::refused_at_checkpoint;
  }
  // A forked dump (run's default) lets the job run on while its writer
  // writes, so the progress read once the image is complete is past the
  // snapshot's: the kill waits until the job is past both that and ~60 %.
  const uint64_t kill_at = std::max<uint64_t>(total * 6 / 10, at_checkpoint + 1);
  REQUIRE(at_checkpoint < total);
  REQUIRE(eventually([&] { return size_of(cwd / tj.progress) >= kill_at; }));
  const pid_t root = job.pid;
  kill_job_tree(job);

  TreeOutcome outcome = TreeOutcome::restored;
  for (int round = 0; round < 2; ++round) {
    RestartResult r = restart({(dir / "img" / "latest").string()}, cwd);
    INFO("round " << round << ", restart stderr: " << r.stderr_text << "\njob stderr: " << read_file(dir / "stderr.txt"));
    const bool loud = r.status != expected_status && one_line(r.stderr_text);
    if (tj.may_refuse && loud && r.status == 2) {
      outcome = TreeOutcome::refused_at_restart;
      continue;
    }
    CHECK(r.status == expected_status);
    for (const auto& out : tj.outputs) {
      INFO("output " << out);
      CHECK(lines_sorted(read_file(cwd / out), tj.sort_lines) == lines_sorted(read_file(ref / out), tj.sort_lines));
    }
    if (tj.check_restored) tj.check_restored(cwd, root);
  }
  return outcome;
}

}  // namespace restart_test
