// The calibration run, phase by phase: the copy target and the memory limit
// set up, the sizes planned, the disk probed, the job's compute time taken
// uninterrupted, the reference output made, then each order's repetitions
// (dump, copy, restore) and its incremental dumps. Ctrl-C keeps what was
// measured.
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <sstream>

#include "calib/calibrate.h"
#include "calib/copy_target.h"
#include "calib/job.h"
#include "calib/memory_cgroup.h"
#include "calib/probes.h"
#include "calib/shared_storage.h"
#include "calibrate_internal.h"
#include "ckpt/control.h"
#include "measure_internal.h"
#include "util/progress_bar.h"
#include "util/scratch_dir.h"
#include "util/stop.h"

namespace fs = std::filesystem;

namespace ckptsim::calib {
namespace {

std::string mib(double bytes) {
  char b[32];
  std::snprintf(b, sizeof b, "%.0f MiB", bytes / 1048576.0);
  return b;
}
std::string secs(double s) {
  char b[32];
  std::snprintf(b, sizeof b, "%.3f s", s);
  return b;
}


// The scratch directory: created private, removed with everything in it
// unless the user asked to keep it.
util::ScratchDir make_work_dir(const fs::path& requested, bool keep) {
  // The user's directory must exist (check_options): only our own
  // calib-XXXXXX is created inside it. Otherwise /var/tmp: on disk, unlike a
  // tmpfs /tmp would be; images must hit the disk.
  const std::string tmpl = !requested.empty() ? (requested / "calib-XXXXXX").string()
                                              : (util::tmpdir_or("/var/tmp") / "ckptsim-calib-XXXXXX").string();
  util::ScratchDir dir = util::ScratchDir::create(tmpl);
  if (!dir) throw std::runtime_error("cannot create a scratch directory " + tmpl);
  if (keep) dir.keep();
  return dir;
}

Tools find_tools(const CalibrationOptions& o) {
  Tools t;
  std::error_code ec;
  t.ckptsim_exe = o.ckptsim_exe.empty() ? fs::read_symlink("/proc/self/exe", ec) : o.ckptsim_exe;
  t.matmul_exe = o.matmul_exe.empty() ? t.ckptsim_exe.parent_path() / "ckpt-matmul" : o.matmul_exe;
  if (access(t.matmul_exe.c_str(), X_OK) != 0)
    throw std::runtime_error("the job " + t.matmul_exe.string() + " is missing (build target ckpt-matmul)");
  t.libckpt = o.libckpt.empty() ? ckpt::find_libckpt() : o.libckpt;
  if (access(t.libckpt.c_str(), R_OK) != 0) throw std::runtime_error("the library " + t.libckpt.string() + " is missing");
  t.job_threads = o.job_threads;
  return t;
}


std::string oom_line(const MeasureRow& row, uint64_t limit) {
  const uint64_t peak = row.oom == "job" || row.oom == "dump" ? row.dump_peak_bytes : row.restore_peak_bytes;
  std::string what = row.oom == "job"           ? "the job was OOM-killed while building its matrices"
                     : row.oom == "dump"        ? "the job was OOM-killed during its dump"
                     : row.oom == "restore"     ? "the restore was OOM-killed"
                                                : "the restored job was OOM-killed";
  return "order " + std::to_string(row.order) + " rep " + std::to_string(row.rep) + ": " + what + " under the " +
         mib(static_cast<double>(limit)) + " limit (peak " + mb(static_cast<double>(peak)) + ", " +
         std::to_string(row.limit_hits) + " limit hits); recorded as oom=" + row.oom + ", not fitted";
}

[[noreturn]] void interrupted() { throw std::runtime_error("interrupted"); }
bool is_interruption(const std::exception& e) { return util::stop_requested() || std::string(e.what()) == "interrupted"; }

class CalibrationRun {
 public:
  CalibrationRun(const CalibrationOptions& opts, util::ProgressBar& progress)
      : opts_(opts), progress_(progress), tools_(find_tools(opts)), work_(make_work_dir(opts.work_dir, opts.keep_work_dir)) {}

  CalibrationResult run() {
    const auto started = std::chrono::steady_clock::now();
    connect_copy_target();
    res_.machine = describe_machine(work_.path());
    enter_memory_limit();
    progress_.info("copying images to " + target_.to.str() + " (" + target_.kind + "), scratch in " +
                   work_.path().string());
    plan_sizes();
    try {
      measure_disk();
      measure_shared_dir();
      time_compute_runs();
      make_reference();
      for (int n : sizes_) measure_order(n);
    } catch (const std::runtime_error& e) {
      if (!is_interruption(e)) throw;
      res_.interrupted = true;
      progress_.warn("interrupted: keeping the " + std::to_string(res_.rows.size()) + " rows measured so far");
    }
    res_.machine["link"] = res_.link;
    res_.machine["job_threads"] = opts_.job_threads;
    res_.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return std::move(res_);
  }

 private:
  void warn(const std::string& w) {
    res_.warnings.push_back(w);
    progress_.warn(w);
  }

  void connect_copy_target() {
    std::ostringstream link_warnings;
    target_ = open_copy_target(opts_.copy, tools_.ckptsim_exe, work_.path(), link_warnings);
    if (!link_warnings.str().empty()) {
      std::string w = link_warnings.str();
      w.pop_back();
      warn(w.substr(w.find(": ") + 2));
    }
    res_.copy_kind = target_.kind;
    res_.link = target_.description;
    res_.nominal_link_Bps = target_.nominal_Bps;
  }

  void enter_memory_limit() {
    if (opts_.memory_limit_bytes == 0) return;
    cgroup_ = std::make_unique<MemoryCgroup>(opts_.memory_limit_bytes);
    res_.memory_limit_bytes = opts_.memory_limit_bytes;
    res_.cgroup_version = cgroup_->version();
    progress_.info("jobs, dumps and restores run in " + cgroup_->path().string() + " (limit " +
                   mib(static_cast<double>(opts_.memory_limit_bytes)) + ", cgroup v" +
                   std::to_string(cgroup_->version()) + ")");
  }

  // The verify order is measured too; its reference run is timed, so it gets
  // no second compute run.
  void plan_sizes() {
    sizes_ = opts_.sizes;
    verify_order_ = opts_.verify_order > 0 ? opts_.verify_order : *std::min_element(sizes_.begin(), sizes_.end());
    if (std::find(sizes_.begin(), sizes_.end(), verify_order_) == sizes_.end())
      sizes_.insert(sizes_.begin(), verify_order_);
    res_.calibrated_orders = sizes_;
    std::sort(res_.calibrated_orders.begin(), res_.calibrated_orders.end());
    for (int n : compute_orders(opts_))
      if (n != verify_order_) compute_sizes_.push_back(n);
    progress_.set_total(static_cast<int>(sizes_.size()) * opts_.reps + static_cast<int>(compute_sizes_.size()) + 1 +
                        (opts_.disk_probe_bytes ? 1 : 0) + (opts_.shared_dir.empty() ? 0 : 1));
  }

  void measure_disk() {
    if (!opts_.disk_probe_bytes) return;
    progress_.status("disk write/read rate");
    DiskRates d = probe_disk(work_.path(), opts_.disk_probe_bytes);
    res_.disk_write_Bps = d.write_Bps;
    res_.disk_read_Bps = d.read_Bps;
    progress_.step_done("disk (" + res_.machine.value("image_fs", std::string("?")) + "): write " + mb(d.write_Bps) +
                        "/s with fsync, read " + mb(d.read_Bps) + "/s");
  }

  void measure_shared_dir() {
    if (opts_.shared_dir.empty()) return;
    progress_.status("shared directory write/read rate");
    SharedProbe probe;
    probe.dir = opts_.shared_dir;
    probe.writers = opts_.shared_writers;
    res_.shared = measure_shared_storage(probe);
    progress_.step_done("shared " + opts_.shared_dir.string() + " (" + res_.shared.fs + "): " +
                        std::to_string(opts_.shared_writers) + " writers " + mb(res_.shared.write_Bps) + "/s, one " +
                        mb(res_.shared.client_write_Bps) + "/s, read " + mb(res_.shared.read_Bps) + "/s");
  }

  // The job's own speed, uninterrupted and without the library (under the
  // limit when there is one: an order whose job cannot fit is OOM-killed,
  // and its row says so; any other failure is thrown).
  ComputeRow timed_run(int n, const fs::path& out, const fs::path& log) {
    const uint64_t ooms = cgroup_ ? cgroup_->counters().oom_kills : 0;
    if (cgroup_) {
      cgroup_->reclaim();
      cgroup_->reset_peak();
    }
    ComputeRow row{n, 0, false, 0};
    try {
      row.seconds = time_uninterrupted(tools_, n, out, log, cgroup_.get());
    } catch (const JobFailed&) {
      if (!cgroup_ || cgroup_->counters().oom_kills == ooms) throw;
      row.oom = true;
    }
    row.peak_bytes = cgroup_ ? cgroup_->counters().peak_bytes : 0;
    return row;
  }

  void time_compute_runs() {
    for (int n : compute_sizes_) {
      if (util::stop_requested()) interrupted();
      uint64_t need = 0;
      if (!fits_alone(n, need)) {
        warn("no compute run: " + too_big("order", n, need));
        progress_.step_done("compute n=" + std::to_string(n) + " skipped");
        continue;
      }
      progress_.status("compute n=" + std::to_string(n));
      const fs::path dir = work_.path() / ("compute-" + std::to_string(n));
      fs::create_directories(dir);
      const ComputeRow row = timed_run(n, dir / "out.bin", dir / "job.log");
      res_.compute.push_back(row);
      if (row.oom) {
        warn("compute run at order " + std::to_string(n) + " OOM-killed under the " +
             mib(static_cast<double>(opts_.memory_limit_bytes)) + " limit (peak " +
             mb(static_cast<double>(row.peak_bytes)) + "): the job alone does not fit");
        progress_.step_done("compute n=" + std::to_string(n) + ": OOM-killed");
      } else {
        progress_.step_done("compute n=" + std::to_string(n) + ": " + secs(row.seconds));
      }
      fs::remove_all(dir);
    }
  }

  // The reference output for the one job that is restored and runs to the end.
  void make_reference() {
    progress_.status("reference run n=" + std::to_string(verify_order_));
    reference_ = work_.path() / "reference.bin";
    const ComputeRow ref = timed_run(verify_order_, reference_, work_.path() / "reference.log");
    if (ref.oom)
      throw std::runtime_error("the reference run at order " + std::to_string(verify_order_) +
                               " was OOM-killed under --memory-limit: give a smaller --verify-order");
    res_.compute.push_back(ref);
    progress_.step_done("compute n=" + std::to_string(verify_order_) + " (reference output): " + secs(ref.seconds));
  }

  void measure_order(int n) {
    uint64_t need = 0;
    if (!fits_in_memory(n, need)) {
      warn("skipping order " + std::to_string(n) + ": needs about " + mb(static_cast<double>(need)) + " of memory, " +
           mb(static_cast<double>(mem_available_bytes())) + " available");
      res_.skipped_sizes.push_back(n);
      for (int r = 0; r < opts_.reps; ++r) progress_.step_done("n=" + std::to_string(n) + " skipped");
      return;
    }
    bool size_failed = false;
    for (int r = 1; r <= opts_.reps && !size_failed; ++r) {
      if (util::stop_requested()) interrupted();
      size_failed = !measure_repetition(n, r);
      if (target_.receiver && !target_.receiver->alive())
        throw std::runtime_error("the receiver died (log: " + (work_.path() / "receiver.log").string() + ")");
    }
    if (!size_failed && opts_.forked_dumps) measure_forked_dump(n);
    if (!size_failed && !opts_.incremental_gaps_s.empty()) {
      measure_incremental_dumps(n, false);
      if (opts_.forked_dumps) measure_incremental_dumps(n, true);
    }
  }

  void measure_forked_dump(int n) {
    progress_.status("n=" + std::to_string(n) + " forked dump");
    RepContext ctx{tools_, target_, work_.path() / ("n" + std::to_string(n) + "-fork"), n, 0, false, reference_,
                   cgroup_.get()};
    try {
      if (const auto row = measure_forked(ctx)) res_.forked.push_back(*row);
      else warn("order " + std::to_string(n) + " forked dump: the job ended first, or there was no room to fork");
    } catch (const JobFailed& e) {
      if (util::stop_requested()) interrupted();
      warn("order " + std::to_string(n) + " forked dump: " + e.what());
    } catch (const std::exception& e) {
      if (is_interruption(e)) interrupted();
      warn("order " + std::to_string(n) + " forked dump failed: " + e.what());
    }
  }

  // One dump, copy and restore of order n; false when the order's other
  // repetitions would only fail again (OOM-killed, or the job was killed).
  bool measure_repetition(int n, int r) {
    const std::string rep = "n=" + std::to_string(n) + " rep " + std::to_string(r);
    progress_.status(rep + "/" + std::to_string(opts_.reps));
    RepContext ctx{tools_, target_, work_.path() / ("n" + std::to_string(n) + "-r" + std::to_string(r)), n, r,
                   n == verify_order_ && r == 1, reference_, cgroup_.get()};
    try {
      MeasureRow row = measure_rep(ctx);
      if (!row.ok()) {
        // Recorded as such (no costs) and said in one line.
        warn(oom_line(row, opts_.memory_limit_bytes));
        res_.rows.push_back(row);
        progress_.step_done(rep + ": OOM-killed (" + row.oom + ")");
        for (int rest = r + 1; rest <= opts_.reps; ++rest) progress_.step_done("n=" + std::to_string(n) + " skipped");
        return false;
      }
      if (row.suspect)
        warn("order " + std::to_string(n) + " rep " + std::to_string(r) +
             (row.swapped_pages > 0 ? ": the machine swapped " + std::to_string(row.swapped_pages) + " pages"
                                    : ": RSS " + mb(static_cast<double>(row.rss_bytes)) +
                                          " is below the matrices' size (not resident?)"));
      res_.rows.push_back(row);
      progress_.step_done(rep + ": image " + mb(static_cast<double>(row.image_bytes)) + ", dump " + secs(row.dump_s) +
                          ", copy " + secs(row.copy_s) + ", restore " + secs(row.restore_s) +
                          (row.output_verified ? ", ran to the end, output identical" : ""));
    } catch (const JobFailed& e) {
      if (util::stop_requested()) interrupted();
      warn(std::string(e.what()) + (e.killed ? "; skipping this size" : ""));
      progress_.step_done(rep + " failed");
      if (e.killed) {
        res_.skipped_sizes.push_back(n);
        return false;
      }
    } catch (const std::exception& e) {
      if (is_interruption(e)) interrupted();
      warn("order " + std::to_string(n) + " rep " + std::to_string(r) + " failed: " + e.what());
      progress_.step_done(rep + " failed");
    }
    return true;
  }

  // In-process (run --no-fork --incremental) or forked (run --incremental).
  void measure_incremental_dumps(int n, bool forked) {
    const std::string what = forked ? "forked incremental dumps" : "incremental dumps";
    progress_.status("n=" + std::to_string(n) + " " + what);
    RepContext ctx{tools_, target_, work_.path() / ("n" + std::to_string(n) + (forked ? "-finc" : "-inc")), n, 0,
                   false, reference_, cgroup_.get()};
    auto& rows = forked ? res_.forked_incremental : res_.incremental;
    try {
      const auto inc = measure_incremental(ctx, opts_.incremental_gaps_s, forked);
      if (forked && inc.empty()) warn("order " + std::to_string(n) + " " + what + ": the job ended first, or there was no room to fork");
      rows.insert(rows.end(), inc.begin(), inc.end());
    } catch (const JobFailed& e) {
      if (util::stop_requested()) interrupted();
      warn("order " + std::to_string(n) + " " + what + ": " + e.what());
    } catch (const std::exception& e) {
      if (is_interruption(e)) interrupted();
      warn("order " + std::to_string(n) + " " + what + " failed: " + e.what());
    }
  }

  const CalibrationOptions& opts_;
  util::ProgressBar& progress_;
  CalibrationResult res_;
  // Destroyed in reverse: the memory group, the copy target (receiver before
  // its namespace), then the scratch directory.
  Tools tools_;
  util::ScratchDir work_;
  CopyTarget target_;
  std::unique_ptr<MemoryCgroup> cgroup_;
  std::vector<int> sizes_, compute_sizes_;
  int verify_order_ = 0;
  fs::path reference_;
};

}  // namespace

CalibrationResult run_calibration(const CalibrationOptions& opts, util::ProgressBar& progress) {
  check_options(opts);
  return CalibrationRun(opts, progress).run();
}

}  // namespace ckptsim::calib
