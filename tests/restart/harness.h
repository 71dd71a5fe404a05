// What every restart test does: start programs (under `ckptsim run` or not) in
// a scratch directory, wait for their gate marker, checkpoint, kill, restart,
// and compare files byte for byte.
#pragma once
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "paused_checkpoint.h"
#include "temp_dir.h"

namespace restart_test {

namespace fs = std::filesystem;

std::string build_path(const std::string& name);  // CKPTSIM_BUILD_DIR/name
std::string ckptsim_exe();
std::string prog(const std::string& name);          // a test program from tests/restart/progs
std::string image_name(int seq);                     // ckpt-NNNN: the library's name of image seq

using ckptsim::test::TempDir;

struct Redirect {
  std::string in = "/dev/null", out = "/dev/null", err = "/dev/null";
};

// fork+exec argv in cwd with the given stdio; every other descriptor closed.
pid_t spawn(const std::vector<std::string>& argv, const fs::path& cwd, const Redirect& io);
// Waits for pid; returns its shell-style status (exit code or 128+signal).
int wait_status(pid_t pid);
int run(const std::vector<std::string>& argv, const fs::path& cwd, const Redirect& io);

// Polls until `pred` holds; false after `timeout` (generous: loaded machines).
template <class Pred>
bool eventually(Pred pred, std::chrono::seconds timeout = std::chrono::seconds(120));

bool file_contains(const fs::path& p, const std::string& text);
std::string read_file(const fs::path& p);
void write_file(const fs::path& p, const std::string& content);
void append_file(const fs::path& p, const std::string& content);

// A job running under `ckptsim run --dir IMG`: the runner and the job itself.
struct Job {
  pid_t runner = -1;
  pid_t pid = -1;
};
Job start_job(const fs::path& img, const std::vector<std::string>& argv, const fs::path& cwd, const Redirect& io,
              const std::vector<std::string>& run_options = {});
// `ckptsim checkpoint PID --wait`; true on success.
bool checkpoint(pid_t pid);
// For jobs without a gate (ckpt-matmul): SIGSTOP it at once, so it cannot run
// to its end however fast the machine is, then queue the checkpoint signal
// (SIGQUIT) and SIGCONT: the handler runs before the job executes anything
// else. Returns once `img`/latest names a new, complete image.
bool checkpoint_now(pid_t pid, const fs::path& img);
// pause_job / checkpoint_paused (common/paused_checkpoint.h): a job kept
// stopped between checkpoints, each waited for on the library's status line.
using ckptsim::test::checkpoint_paused;
using ckptsim::test::pause_job;
// SIGKILL the job and reap its runner.
void kill_job(Job& job);

// `cycles` times: checkpoint the job now (checkpoint_now), SIGKILL it, and
// start `ckptsim restart IMG/latest` in dir/run, which becomes the job. Each
// cycle must add image number `cycle` to IMG. Returns the last job, still
// running (its runner is the restarter, its stderr in dir/restart-stderr.txt).
Job checkpoint_kill_restart_chain(const fs::path& dir, const fs::path& img, Job job, int cycles);

// Every process whose executable is `exe` (to prove none was left behind);
// with `under`, only those whose working directory is below it (tests run in
// parallel start the same programs elsewhere).
std::vector<pid_t> processes_running(const std::string& exe, const fs::path& under = {});

// Writes an image's manifest.json from `text` (a JSON object without
// "manifest_xxh3") with its own checksum, as the library does: tests that
// change a manifest on purpose reach the check they aim at, not this one.
void write_signed_manifest(const fs::path& image, std::string text);

// xxh3 of every file under dir, by relative path (to prove an image untouched).
std::map<std::string, std::string> fingerprint(const fs::path& dir);

struct RestartResult {
  int status = -1;
  std::string stderr_text;
};
RestartResult restart(const std::vector<std::string>& args, const fs::path& cwd, const std::string& out = "/dev/null");

}  // namespace restart_test

#include <thread>
template <class Pred>
bool restart_test::eventually(Pred pred, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}
