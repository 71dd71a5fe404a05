// Pieces of the measurement loop (private to calib).
#pragma once
#include <signal.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>
#include <optional>
#include <string>

#include "calib/calibrate.h"
#include "calib/copy_target.h"
#include "calib/job.h"
#include "calib/memory_cgroup.h"
#include "util/scratch_dir.h"
#include "util/subprocess.h"

namespace ckptsim::calib {

struct Tools {
  std::filesystem::path ckptsim_exe, matmul_exe, libckpt;
  int job_threads = 1;  // ckpt-matmul --threads
};

// Everything one repetition needs.
struct RepContext {
  const Tools& tools;
  CopyTarget& target;
  std::filesystem::path rep_dir;            // scratch for this repetition
  int order = 0, rep = 0;
  bool run_to_end = false;                  // verify against the reference output
  std::filesystem::path reference_output;   // uninterrupted run's output (run_to_end)
  MemoryCgroup* cgroup = nullptr;           // --memory-limit: job, dump and restore run in it
};

// The job waits stopped (SIGSTOP) until the checkpoint signal is pending, then
// is continued: the kernel runs the pending handler before any more of the
// job's code, so the checkpoint catches it right after its matrices were built.
class ContinueWhenSignalled {
 public:
  ContinueWhenSignalled(pid_t pid, int signo) : pid_(pid), thread_([this, signo] { run(signo); }) {}
  ~ContinueWhenSignalled() {
    done_ = true;
    thread_.join();
    kill(pid_, SIGCONT);
  }

 private:
  bool pending(int signo) {
    std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
    std::string line;
    while (std::getline(in, line))
      if (line.rfind("ShdPnd:", 0) == 0 || line.rfind("SigPnd:", 0) == 0)
        if (std::stoull(line.substr(7), nullptr, 16) & (1ull << (signo - 1))) return true;
    return false;
  }
  void run(int signo) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!done_ && std::chrono::steady_clock::now() < deadline && !pending(signo))
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    kill(pid_, SIGCONT);
  }
  pid_t pid_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

// ctx.rep_dir and its images/ directory, created private (0700); the latter's path.
std::filesystem::path make_rep_dirs(const RepContext& ctx);

// ckpt-matmul of ctx's order under libckpt, writing its images to `images`
// and its output and log in ctx.rep_dir (inside ctx.cgroup when there is one).
JobSpec checkpointed_job(const RepContext& ctx, const std::filesystem::path& images);

// Start the job under libckpt, checkpoint it once its matrices are ready, kill
// it, copy the image, restore it, check it progresses (or runs to the end and
// matches the reference), kill it. Throws on failure (JobFailed, ckpt/restart
// errors, TransferError, std::runtime_error("interrupted")).
MeasureRow measure_rep(const RepContext& ctx);

// A job under CKPT_INCREMENTAL=1: a full dump once its matrices are ready,
// then one incremental dump after each of `gaps` seconds of compute. Rows for
// the dumps taken before the job ended. Forked (CKPT_FORK=1): nothing when
// any dump was written in-process for want of room. Throws like measure_rep.
std::vector<IncrementalRow> measure_incremental(const RepContext& ctx, const std::vector<double>& gaps, bool forked);

// The job's log says the library wrote a dump it was asked to fork
// in-process (no room for the fork's copies).
bool wrote_in_process(const std::filesystem::path& log);

// A job under CKPT_FORK=1, checkpointed once its matrices are ready: the
// stop and the fork's write. Nothing when the job ended before its dump, or
// when the dump was written in-process (no room for the fork's copies: the
// row would not be a forked dump's). Throws like measure_rep.
std::optional<ForkedRow> measure_forked(const RepContext& ctx);

// Uninterrupted run without the library (in cgroup when given); returns wall
// seconds. Throws JobFailed.
double time_uninterrupted(const Tools& tools, int order, const std::filesystem::path& out,
                          const std::filesystem::path& log, MemoryCgroup* cgroup = nullptr);

// Under --memory-limit the restore runs as `ckptsim restart --timing
// --pid-file` inside the group (the restarter's reads and the restored job are
// charged to it), from an image whose pages were first written back and
// dropped from the page cache (so they are charged to the group when read).
struct CgroupRestore {
  util::ChildProcess restarter;  // `ckptsim restart`; the restored job is its child
  pid_t job = -1;          // the restored job (0 when it had already exited)
  double restore_s = 0;    // sum of the restarter's phases (the in-process restore's span)
  std::optional<int> early_status;  // the restarter ended before the job ran (failure/OOM)
  std::string log_tail;             // last line of its stderr
};
CgroupRestore restore_in_cgroup(const RepContext& ctx, const std::filesystem::path& image);

// fdatasync + POSIX_FADV_DONTNEED on every file under dir.
void drop_page_cache(const std::filesystem::path& dir);


}  // namespace ckptsim::calib
