// One repetition: checkpoint -> copy -> restore -> check, with its timings.
#include <signal.h>
#include <sys/stat.h>

#include <atomic>

#include <chrono>
#include <fstream>
#include <thread>

#include "calib/job.h"
#include "calib/probes.h"
#include "calib/stop.h"
#include "ckpt/control.h"
#include "measure_internal.h"
#include "restart/restart.h"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace ckptsim::calib {

namespace {
double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// The restored job is alive and computing: its CPU time grows (within a few
// seconds, however loaded the machine), or it already finished successfully
// (small orders need only milliseconds after the checkpoint). `waited` is the
// child whose end says so: the job itself, or the `ckptsim restart` it runs under.
bool restored_job_progresses(ChildProcess& waited, pid_t job) {
  ProcessStat first = process_stat(job);
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (stop_requested()) throw std::runtime_error("interrupted");
    if (auto st = waited.try_wait()) return *st == 0;
    ProcessStat now = process_stat(job);
    if (now.cpu_ticks > first.cpu_ticks && now.state != 'Z') return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

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
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!done_ && std::chrono::steady_clock::now() < deadline && !pending(signo))
      std::this_thread::sleep_for(200us);
    kill(pid_, SIGCONT);
  }
  pid_t pid_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

}  // namespace

double time_uninterrupted(const Tools& tools, int order, const fs::path& out, const fs::path& log,
                          MemoryCgroup* cgroup) {
  JobSpec spec;
  if (cgroup) spec.cgroup_procs = cgroup->procs_file();
  spec.matmul = tools.matmul_exe;
  spec.order = order;
  spec.threads = tools.job_threads;
  spec.out = out;
  spec.log = log;
  auto t0 = std::chrono::steady_clock::now();
  MatmulJob job(spec);
  int st = job.wait_exit(std::chrono::hours(6));
  double s = since(t0);
  if (st != 0) throw JobFailed("uninterrupted ckpt-matmul --n " + std::to_string(order) + " ended with status " +
                                   std::to_string(st), st > 128);
  return s;
}

namespace {

void finish_row(MeasureRow& row, uint64_t swap_before) {
  uint64_t swap_after = swap_out_pages();
  row.swapped_pages = static_cast<int64_t>(swap_after - swap_before);
  // Three float matrices of order n: anything well below that was not resident.
  const double expected = 3.0 * 4.0 * row.order * static_cast<double>(row.order);
  row.suspect = row.swapped_pages > 0 || static_cast<double>(row.rss_bytes) < 0.9 * expected;
}

// The group's peak since its last reset into row.*peak, and how often the limit forced reclaim since `before`.
void record_group(MeasureRow& row, const MemoryCgroup& cg, const CgroupCounters& before, uint64_t MeasureRow::*peak) {
  const CgroupCounters now = cg.counters();
  row.*peak = now.peak_bytes;
  row.limit_hits = now.limit_hits - before.limit_hits;
}

// A restored job run to its end (status st): it must have written what an
// uninterrupted run writes.
void check_restored_output(const RepContext& ctx, MeasureRow& row, int st, const fs::path& job_out) {
  row.progressing = st == 0;
  row.output_verified = st == 0 && files_equal(job_out, ctx.reference_output);
  if (!row.output_verified)
    throw JobFailed("the restored ckpt-matmul --n " + std::to_string(ctx.order) +
                        (st != 0 ? " ended with status " + std::to_string(st)
                                 : " finished but its output differs from an uninterrupted run"),
                    false);
}

// The restore and the restored job's run under --memory-limit (restore_in_cgroup).
MeasureRow restore_limited(const RepContext& ctx, MeasureRow row, const fs::path& image, const fs::path& job_out,
                           const CgroupCounters& before, uint64_t swap_before) {
  MemoryCgroup& cg = *ctx.cgroup;
  cg.kill_all();
  cg.reclaim();          // the dumped image's pages: the other node never had them
  drop_page_cache(image);  // the received copy is read from disk, charged to the group
  cg.reset_peak();
  CgroupRestore r = restore_in_cgroup(ctx, image);
  row.restore_s = r.restore_s;
  auto oom_since_before = [&] { return cg.counters().oom_kills > before.oom_kills; };
  auto done = [&](const std::string& oom) {
    cg.kill_all();
    r.restarter.wait();
    record_group(row, cg, before, &MeasureRow::restore_peak_bytes);
    row.oom = oom_since_before() ? oom : "";
    finish_row(row, swap_before);
    return row;
  };
  if (r.early_status) {
    if (oom_since_before()) return done("restore");
    throw std::runtime_error("ckptsim restart in the memory-limited group ended with status " +
                             std::to_string(*r.early_status) + ": " + r.log_tail);
  }
  if (ctx.run_to_end) {
    int st = wait_child_exit(r.restarter, std::chrono::hours(6));
    if (st != 0 && oom_since_before()) return done("restored job");
    check_restored_output(ctx, row, st, job_out);
    return done("");
  }
  // Alive and computing: its CPU time grows, or it already ended well.
  const bool progressing = r.job > 0 ? restored_job_progresses(r.restarter, r.job) : r.restarter.wait() == 0;
  if (!progressing && oom_since_before()) return done("restored job");
  row.progressing = progressing;
  if (!progressing) {
    cg.kill_all();
    throw JobFailed("the restored ckpt-matmul --n " + std::to_string(ctx.order) + " is not making progress", false);
  }
  return done("");
}

}  // namespace

fs::path make_rep_dirs(const RepContext& ctx) {
  const fs::path images = ctx.rep_dir / "images";
  for (const fs::path& dir : {ctx.rep_dir, images}) {
    fs::create_directories(dir);
    fs::permissions(dir, fs::perms::owner_all);
  }
  return images;
}

JobSpec checkpointed_job(const RepContext& ctx, const fs::path& images) {
  JobSpec spec;
  spec.matmul = ctx.tools.matmul_exe;
  spec.order = ctx.order;
  spec.threads = ctx.tools.job_threads;
  spec.out = ctx.rep_dir / "out.bin";
  spec.log = ctx.rep_dir / "job.log";
  spec.ckpt_dir = images;
  spec.libckpt = ctx.tools.libckpt;
  if (ctx.cgroup) spec.cgroup_procs = ctx.cgroup->procs_file();
  return spec;
}

MeasureRow measure_rep(const RepContext& ctx) {
  MeasureRow row;
  row.order = ctx.order;
  row.rep = ctx.rep;
  RemoveOnExit cleanup_rep{ctx.rep_dir};
  const fs::path images = make_rep_dirs(ctx);
  const uint64_t swap_before = swap_out_pages();

  JobSpec spec = checkpointed_job(ctx, images);
  spec.stop_when_ready = true;
  MemoryCgroup* cg = ctx.cgroup;
  CgroupCounters before;
  if (cg) {
    // Each row starts on an empty node: nothing left running, no page cache
    // of the last row's images charged to the group.
    cg->kill_all();
    cg->reclaim();
    cg->reset_peak();
    before = cg->counters();
  }
  // Did the OOM killer end something in the group since `before`?
  auto oom_killed = [&] { return cg && cg->counters().oom_kills > before.oom_kills; };
  auto finish_oom = [&](const std::string& phase, uint64_t MeasureRow::*peak) {
    row.oom = phase;
    record_group(row, *cg, before, peak);
    return row;
  };
  MatmulJob job(spec);
  try {
    job.wait_ready(std::chrono::seconds(600));
  } catch (const JobFailed&) {
    if (oom_killed()) return finish_oom("job", &MeasureRow::dump_peak_bytes);
    throw;
  }

  ProcessSize size = process_size(job.pid());
  row.rss_bytes = size.rss_bytes;
  row.mapped_bytes = size.mapped_bytes;

  ckpt::CheckpointResult ck;
  try {
    ContinueWhenSignalled resume(job.pid(), std::stoi(spec.ckpt_signal));
    ck = ckpt::request_checkpoint(job.pid(), true);
  } catch (const ckpt::CkptError&) {
    // The job, or its core writer (in the group too), was killed mid-dump.
    if (oom_killed()) {
      job.kill();
      return finish_oom("dump", &MeasureRow::dump_peak_bytes);
    }
    throw;
  }
  row.dump_s = ck.seconds;
  // The original is gone before its copy comes back, as after a node failure.
  job.kill();
  if (cg) record_group(row, *cg, before, &MeasureRow::dump_peak_bytes);

  DirSize image = dir_size(ck.image);
  row.image_bytes = image.apparent_bytes;
  row.image_disk_bytes = image.disk_bytes;
  row.image_files = image.files;

  const std::string copy_name = "n" + std::to_string(ctx.order) + "-r" + std::to_string(ctx.rep);
  SendResult sent = send_image(ck.image, ctx.target.to, copy_name);
  row.hash_s = sent.hash_s;
  row.copy_s = sent.copy_s;
  RemoveOnExit cleanup_copy;
  fs::path restore_from = ck.image;
  row.restored_from = "local image";
  if (!ctx.target.received_dir.empty()) {
    restore_from = ctx.target.received_dir / copy_name;
    cleanup_copy.path = restore_from;
    row.restored_from = "received copy";
  }

  if (cg) return restore_limited(ctx, row, restore_from, spec.out, before, swap_before);

  restart::RestartOptions ro;
  ro.image = restore_from;
  ro.verify = restart::Verify::Full;
  auto t0 = std::chrono::steady_clock::now();
  pid_t restored_pid = restart::restore_process(ro);
  row.restore_s = since(t0);
  ChildProcess restored(restored_pid);

  if (ctx.run_to_end) {
    check_restored_output(ctx, row, wait_child_exit(restored, std::chrono::hours(6)), spec.out);
  } else {
    row.progressing = restored_job_progresses(restored, restored.pid());
    restored.terminate();
    if (!row.progressing)
      throw JobFailed("the restored ckpt-matmul --n " + std::to_string(ctx.order) + " is not making progress",
                      false);
  }
  finish_row(row, swap_before);
  return row;
}

}  // namespace ckptsim::calib
