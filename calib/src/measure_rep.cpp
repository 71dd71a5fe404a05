// One repetition: checkpoint -> copy -> restore -> check, with its timings.
#include <signal.h>
#include <sys/stat.h>

#include <atomic>

#include <chrono>
#include <optional>
#include <fstream>
#include <thread>

#include "calib/job.h"
#include "calib/probes.h"
#include "ckpt/control.h"
#include "measure_internal.h"
#include "restart/restart.h"
#include "util/stop.h"

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
bool restored_job_progresses(util::ChildProcess& waited, pid_t job) {
  ProcessStat first = process_stat(job);
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (util::stop_requested()) throw std::runtime_error("interrupted");
    if (auto st = waited.try_wait()) return *st == 0;
    ProcessStat now = process_stat(job);
    if (now.cpu_ticks > first.cpu_ticks && now.state != 'Z') return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

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

namespace {

// One repetition's account across its phases, and whether the OOM killer
// ended something in the memory group since it began.
struct Rep {
  const RepContext& ctx;
  MeasureRow row;
  uint64_t swap_before = 0;
  CgroupCounters before;

  bool oom_killed() const { return ctx.cgroup && ctx.cgroup->counters().oom_kills > before.oom_kills; }
  MeasureRow oom(const std::string& phase) {
    row.oom = phase;
    record_group(row, *ctx.cgroup, before, &MeasureRow::dump_peak_bytes);
    return row;
  }
};

// Each row starts on an empty node: nothing left running, no page cache of
// the last row's images charged to the group.
void empty_the_node(Rep& r) {
  MemoryCgroup* cg = r.ctx.cgroup;
  if (!cg) return;
  cg->kill_all();
  cg->reclaim();
  cg->reset_peak();
  r.before = cg->counters();
}

// The job's dump, timed from the signal to the image in place; nothing if the
// job or its core writer (in the group too) was OOM-killed meanwhile.
std::optional<ckpt::CheckpointResult> dump_job(Rep& r, MatmulJob& job, const JobSpec& spec) {
  try {
    ContinueWhenSignalled resume(job.pid(), std::stoi(spec.ckpt_signal));
    return ckpt::request_checkpoint(job.pid(), true);
  } catch (const ckpt::CkptError&) {
    if (!r.oom_killed()) throw;
    job.kill();
    return std::nullopt;
  }
}

// The image sent to the copy target; the copy restores when it lands here.
fs::path copy_image(Rep& r, const fs::path& image, util::ScratchDir& cleanup_copy) {
  const std::string copy_name = "n" + std::to_string(r.ctx.order) + "-r" + std::to_string(r.ctx.rep);
  SendResult sent = send_image(image, r.ctx.target.to, copy_name);
  r.row.hash_s = sent.hash_s;
  r.row.copy_s = sent.copy_s;
  r.row.restored_from = "local image";
  if (r.ctx.target.received_dir.empty()) return image;
  cleanup_copy = util::ScratchDir(r.ctx.target.received_dir / copy_name);
  r.row.restored_from = "received copy";
  return cleanup_copy.path();
}

// Without a memory limit: restore_process timed in this process, then the
// restored job runs to the end (output checked) or shows it computes.
MeasureRow restore_here(Rep& r, const fs::path& from, const fs::path& job_out) {
  restart::RestartOptions ro;
  ro.image = from;
  ro.verify = restart::Verify::Full;
  auto t0 = std::chrono::steady_clock::now();
  pid_t restored_pid = restart::restore_process(ro);
  r.row.restore_s = since(t0);
  util::ChildProcess restored(restored_pid);
  if (r.ctx.run_to_end) {
    check_restored_output(r.ctx, r.row, wait_child_exit(restored, std::chrono::hours(6)), job_out);
  } else {
    r.row.progressing = restored_job_progresses(restored, restored.pid());
    restored.terminate();
    if (!r.row.progressing)
      throw JobFailed("the restored ckpt-matmul --n " + std::to_string(r.ctx.order) + " is not making progress",
                      false);
  }
  finish_row(r.row, r.swap_before);
  return r.row;
}

}  // namespace

// Phases: an empty node, the job started and ready, its dump, the original
// killed (as after a node failure), the image copied, restored from the copy.
MeasureRow measure_rep(const RepContext& ctx) {
  Rep r{ctx, {}, 0, {}};
  r.row.order = ctx.order;
  r.row.rep = ctx.rep;
  const util::ScratchDir cleanup_rep(ctx.rep_dir);  // the images are big
  const fs::path images = make_rep_dirs(ctx);
  r.swap_before = swap_out_pages();
  JobSpec spec = checkpointed_job(ctx, images);
  spec.stop_when_ready = true;
  empty_the_node(r);

  MatmulJob job(spec);
  try {
    job.wait_ready(std::chrono::seconds(600));
  } catch (const JobFailed&) {
    if (r.oom_killed()) return r.oom("job");
    throw;
  }
  ProcessSize size = process_size(job.pid());
  r.row.rss_bytes = size.rss_bytes;
  r.row.mapped_bytes = size.mapped_bytes;

  const std::optional<ckpt::CheckpointResult> ck = dump_job(r, job, spec);
  if (!ck) return r.oom("dump");
  r.row.dump_s = ck->seconds;
  job.kill();
  if (ctx.cgroup) record_group(r.row, *ctx.cgroup, r.before, &MeasureRow::dump_peak_bytes);
  const DirSize image = dir_size(ck->image);
  r.row.image_bytes = image.apparent_bytes;
  r.row.image_disk_bytes = image.disk_bytes;
  r.row.image_files = image.files;

  util::ScratchDir cleanup_copy;
  const fs::path restore_from = copy_image(r, ck->image, cleanup_copy);
  if (ctx.cgroup) return restore_limited(ctx, r.row, restore_from, spec.out, r.before, r.swap_before);
  return restore_here(r, restore_from, spec.out);
}

}  // namespace ckptsim::calib
