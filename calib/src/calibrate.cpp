// The measurement loop: sizes x repetitions, plus the job's compute rate.
#include "calib/calibrate.h"

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <sstream>

#include "calib/copy_target.h"
#include "calib/job.h"
#include "calib/memory_cgroup.h"
#include "calib/probes.h"
#include "calib/progress.h"
#include "calib/stop.h"
#include "ckpt/control.h"
#include "measure_internal.h"
#include "restart/restart.h"

namespace fs = std::filesystem;

namespace ckptsim::calib {

namespace {

std::string mb(double bytes) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f MB", bytes / 1e6);
  return b;
}
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

// The scratch directory: created private, removed with everything in it.
class WorkDir {
 public:
  WorkDir(const fs::path& requested, bool keep) : keep_(keep) {
    if (!requested.empty()) {
      // The user's directory must exist (check_options): only our own
      // calib-XXXXXX is created inside it.
      std::string tmpl = (requested / "calib-XXXXXX").string();
      make(tmpl);
    } else {
      const char* t = getenv("TMPDIR");
      // /var/tmp: on disk, unlike a tmpfs /tmp would be; images must hit the disk.
      fs::path base = t && *t ? fs::path(t) : fs::path("/var/tmp");
      make((base / "ckptsim-calib-XXXXXX").string());
    }
  }
  ~WorkDir() {
    std::error_code ec;
    if (!keep_) fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  void make(std::string tmpl) {
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("cannot create a scratch directory " + tmpl);
    path_ = tmpl;
  }
  fs::path path_;
  bool keep_;
};

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

// Job + restored job of order n, the image's pages in the cache and a margin:
// if that is not available, the size would swap or be OOM-killed.
bool fits_in_memory(int order, uint64_t& need) {
  need = static_cast<uint64_t>(2.2 * matrices_bytes(order)) + (256ull << 20);
  return mem_available_bytes() >= need;
}

// An uninterrupted run of order n: the job alone, with the same margin.
bool fits_alone(int order, uint64_t& need) {
  need = static_cast<uint64_t>(matrices_bytes(order)) + (256ull << 20);
  return mem_available_bytes() >= need;
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

std::string too_big(const std::string& what, int order, uint64_t need) {
  return what + " " + std::to_string(order) + " needs about " + mb(static_cast<double>(need)) + " of memory, only " +
         mb(static_cast<double>(mem_available_bytes())) + " available (MemAvailable)";
}

}  // namespace

double matrices_bytes(int order) { return 3.0 * sizeof(float) * order * static_cast<double>(order); }

std::vector<int> compute_orders(const CalibrationOptions& o) {
  if (!o.compute_sizes.empty()) return o.compute_sizes;
  std::vector<int> sizes = o.sizes;
  std::sort(sizes.begin(), sizes.end());
  sizes.erase(std::unique(sizes.begin(), sizes.end()), sizes.end());
  const int m = static_cast<int>(sizes.size());
  if (o.compute_spread <= 0 || o.compute_spread >= m) return sizes;
  // k orders evenly spread over the sorted sizes, both ends included.
  std::vector<int> picked;
  const int k = std::max(2, o.compute_spread);
  for (int i = 0; i < k; ++i) {
    const int idx = static_cast<int>(std::lround(static_cast<double>(i) * (m - 1) / (k - 1)));
    if (picked.empty() || picked.back() != sizes[idx]) picked.push_back(sizes[idx]);
  }
  return picked;
}

void check_options(const CalibrationOptions& opts) {
  if (opts.sizes.empty()) throw OptionsError("no sizes to measure");
  if (opts.reps < 1) throw OptionsError("--reps must be at least 1");
  if (opts.verify_order < 0) throw OptionsError("--verify-order must be a positive matrix order");
  if (opts.compute_spread < 0 || opts.compute_spread == 1 || opts.compute_spread == 2)
    throw OptionsError("--compute-sizes spread:K needs K >= 3 (three points fit c + b*n^2 + a*n^3)");
  uint64_t need = 0;
  // An explicit list must fit; the default (the checkpointed orders) skips
  // those that do not, like the checkpointed orders themselves.
  for (int n : opts.compute_sizes)
    if (!fits_alone(n, need)) throw OptionsError(too_big("--compute-sizes order", n, need));
  const int verify = opts.verify_order > 0 ? opts.verify_order : *std::min_element(opts.sizes.begin(), opts.sizes.end());
  if (!fits_in_memory(verify, need)) throw OptionsError(too_big("--verify-order", verify, need));
  if (opts.memory_limit_bytes > 0) {
    if (opts.memory_limit_bytes < kMinMemoryLimitBytes)
      throw OptionsError("--memory-limit must be at least " + std::to_string(kMinMemoryLimitBytes >> 20) + "M");
    if (::geteuid() != 0) throw OptionsError("--memory-limit needs root (it creates a memory control group)");
    try {
      MemoryCgroup::own_memory_cgroup();
    } catch (const CgroupUnavailable& e) {
      throw OptionsError(std::string("--memory-limit: ") + e.what());
    }
    // The verify order's job runs to the end under the limit after its restore.
    const double verify_need = 1.2 * matrices_bytes(verify) + (24 << 20);
    if (verify_need > static_cast<double>(opts.memory_limit_bytes))
      throw OptionsError("--verify-order " + std::to_string(verify) + " needs about " + mb(verify_need) +
                         ", more than --memory-limit " + mb(static_cast<double>(opts.memory_limit_bytes)) +
                         ": give a smaller --verify-order");
  }
  const int smallest = *std::min_element(opts.sizes.begin(), opts.sizes.end());
  if (!fits_in_memory(smallest, need)) throw OptionsError(too_big("even the smallest --sizes order", smallest, need));
  if (!opts.work_dir.empty()) {
    std::error_code ec;
    if (!fs::is_directory(opts.work_dir, ec))
      throw OptionsError("--work-dir " + opts.work_dir.string() + " is not an existing directory");
    if (::access(opts.work_dir.c_str(), W_OK | X_OK) != 0)
      throw OptionsError("--work-dir " + opts.work_dir.string() + " is not writable");
  }
  std::vector<int> timed = compute_orders(opts);
  timed.push_back(verify);
  std::sort(timed.begin(), timed.end());
  if (std::unique(timed.begin(), timed.end()) - timed.begin() < 3)
    throw OptionsError("the compute fit needs three orders timed uninterrupted: give more --sizes or "
                       "--compute-sizes (e.g. 300,600,900)");
}

CalibrationResult run_calibration(const CalibrationOptions& opts, Progress& progress) {
  const auto started = std::chrono::steady_clock::now();
  CalibrationResult res;
  check_options(opts);
  Tools tools = find_tools(opts);
  WorkDir work(opts.work_dir, opts.keep_work_dir);
  auto warn = [&](const std::string& w) {
    res.warnings.push_back(w);
    progress.warn(w);
  };

  std::ostringstream link_warnings;
  CopyTarget target = open_copy_target(opts.copy, tools.ckptsim_exe, work.path(), link_warnings);
  if (!link_warnings.str().empty()) {
    std::string w = link_warnings.str();
    w.pop_back();
    warn(w.substr(w.find(": ") + 2));
  }
  res.copy_kind = target.kind;
  res.link = target.description;
  res.nominal_link_Bps = target.nominal_Bps;
  res.machine = describe_machine(work.path());
  std::unique_ptr<MemoryCgroup> cgroup;
  if (opts.memory_limit_bytes > 0) {
    cgroup = std::make_unique<MemoryCgroup>(opts.memory_limit_bytes);
    res.memory_limit_bytes = opts.memory_limit_bytes;
    res.cgroup_version = cgroup->version();
    progress.info("jobs, dumps and restores run in " + cgroup->path().string() + " (limit " +
                  mib(static_cast<double>(opts.memory_limit_bytes)) + ", cgroup v" +
                  std::to_string(cgroup->version()) + ")");
  }
  progress.info("copying images to " + target.to.str() + " (" + target.kind + "), scratch in " + work.path().string());

  std::vector<int> sizes = opts.sizes;
  const int verify_order = opts.verify_order > 0 ? opts.verify_order : *std::min_element(sizes.begin(), sizes.end());
  if (std::find(sizes.begin(), sizes.end(), verify_order) == sizes.end()) sizes.insert(sizes.begin(), verify_order);
  res.calibrated_orders = sizes;
  std::sort(res.calibrated_orders.begin(), res.calibrated_orders.end());
  // The verify order's reference run is timed too: no second run at that order.
  std::vector<int> compute_sizes;
  for (int n : compute_orders(opts))
    if (n != verify_order) compute_sizes.push_back(n);
  progress.set_total(static_cast<int>(sizes.size()) * opts.reps + static_cast<int>(compute_sizes.size()) + 1 +
                     (opts.disk_probe_bytes ? 1 : 0));

  try {
    if (opts.disk_probe_bytes) {
      progress.status("disk write/read rate");
      DiskRates d = probe_disk(work.path(), opts.disk_probe_bytes);
      res.disk_write_Bps = d.write_Bps;
      res.disk_read_Bps = d.read_Bps;
      progress.step_done("disk (" + res.machine.value("image_fs", std::string("?")) + "): write " +
                         mb(d.write_Bps) + "/s with fsync, read " + mb(d.read_Bps) + "/s");
    }
    // The job's own speed, uninterrupted and without the library (under the
    // limit when there is one: an order whose job cannot fit is OOM-killed,
    // and its row says so; any other failure is thrown).
    auto timed_run = [&](int n, const fs::path& out, const fs::path& log) {
      const uint64_t ooms = cgroup ? cgroup->counters().oom_kills : 0;
      if (cgroup) {
        cgroup->reclaim();
        cgroup->reset_peak();
      }
      ComputeRow row{n, 0, false, 0};
      try {
        row.seconds = time_uninterrupted(tools, n, out, log, cgroup.get());
      } catch (const JobFailed&) {
        if (!cgroup || cgroup->counters().oom_kills == ooms) throw;
        row.oom = true;
      }
      row.peak_bytes = cgroup ? cgroup->counters().peak_bytes : 0;
      return row;
    };
    for (int n : compute_sizes) {
      if (stop_requested()) throw std::runtime_error("interrupted");
      uint64_t need = 0;
      if (!fits_alone(n, need)) {
        warn("no compute run: " + too_big("order", n, need));
        progress.step_done("compute n=" + std::to_string(n) + " skipped");
        continue;
      }
      progress.status("compute n=" + std::to_string(n));
      const fs::path dir = work.path() / ("compute-" + std::to_string(n));
      fs::create_directories(dir);
      const ComputeRow row = timed_run(n, dir / "out.bin", dir / "job.log");
      res.compute.push_back(row);
      if (row.oom) {
        warn("compute run at order " + std::to_string(n) + " OOM-killed under the " +
             mib(static_cast<double>(opts.memory_limit_bytes)) + " limit (peak " +
             mb(static_cast<double>(row.peak_bytes)) + "): the job alone does not fit");
        progress.step_done("compute n=" + std::to_string(n) + ": OOM-killed");
      } else {
        progress.step_done("compute n=" + std::to_string(n) + ": " + secs(row.seconds));
      }
      fs::remove_all(dir);
    }
    // The reference output for the one job that is restored and runs to the end.
    progress.status("reference run n=" + std::to_string(verify_order));
    const fs::path reference = work.path() / "reference.bin";
    const ComputeRow ref = timed_run(verify_order, reference, work.path() / "reference.log");
    if (ref.oom)
      throw std::runtime_error("the reference run at order " + std::to_string(verify_order) +
                               " was OOM-killed under --memory-limit: give a smaller --verify-order");
    res.compute.push_back(ref);
    progress.step_done("compute n=" + std::to_string(verify_order) + " (reference output): " + secs(ref.seconds));

    for (int n : sizes) {
      uint64_t need = 0;
      if (!fits_in_memory(n, need)) {
        warn("skipping order " + std::to_string(n) + ": needs about " + mb(static_cast<double>(need)) +
             " of memory, " + mb(static_cast<double>(mem_available_bytes())) + " available");
        res.skipped_sizes.push_back(n);
        for (int r = 0; r < opts.reps; ++r) progress.step_done("n=" + std::to_string(n) + " skipped");
        continue;
      }
      bool size_failed = false;
      for (int r = 1; r <= opts.reps && !size_failed; ++r) {
        if (stop_requested()) throw std::runtime_error("interrupted");
        progress.status("n=" + std::to_string(n) + " rep " + std::to_string(r) + "/" + std::to_string(opts.reps));
        RepContext ctx{tools, target, work.path() / ("n" + std::to_string(n) + "-r" + std::to_string(r)), n, r,
                       n == verify_order && r == 1, reference, cgroup.get()};
        try {
          MeasureRow row = measure_rep(ctx);
          if (!row.ok()) {
            // Recorded as such (no costs) and said in one line; the larger
            // repetitions of this order would only be killed again.
            warn(oom_line(row, opts.memory_limit_bytes));
            res.rows.push_back(row);
            progress.step_done("n=" + std::to_string(n) + " rep " + std::to_string(r) + ": OOM-killed (" + row.oom +
                               ")");
            for (int rest = r + 1; rest <= opts.reps; ++rest) progress.step_done("n=" + std::to_string(n) + " skipped");
            size_failed = true;
            continue;
          }
          if (row.suspect)
            warn("order " + std::to_string(n) + " rep " + std::to_string(r) +
                 (row.swapped_pages > 0 ? ": the machine swapped " + std::to_string(row.swapped_pages) + " pages"
                                        : ": RSS " + mb(static_cast<double>(row.rss_bytes)) +
                                              " is below the matrices' size (not resident?)"));
          res.rows.push_back(row);
          progress.step_done("n=" + std::to_string(n) + " rep " + std::to_string(r) + ": image " +
                             mb(static_cast<double>(row.image_bytes)) + ", dump " + secs(row.dump_s) + ", copy " +
                             secs(row.copy_s) + ", restore " + secs(row.restore_s) +
                             (row.output_verified ? ", ran to the end, output identical" : ""));
        } catch (const JobFailed& e) {
          if (stop_requested()) throw std::runtime_error("interrupted");
          warn(std::string(e.what()) + (e.killed ? "; skipping this size" : ""));
          progress.step_done("n=" + std::to_string(n) + " rep " + std::to_string(r) + " failed");
          if (e.killed) {
            size_failed = true;
            res.skipped_sizes.push_back(n);
          }
        } catch (const std::exception& e) {
          if (stop_requested() || std::string(e.what()) == "interrupted") throw std::runtime_error("interrupted");
          warn("order " + std::to_string(n) + " rep " + std::to_string(r) + " failed: " + e.what());
          progress.step_done("n=" + std::to_string(n) + " rep " + std::to_string(r) + " failed");
        }
        if (target.receiver && !target.receiver->alive())
          throw std::runtime_error("the receiver died (log: " + (work.path() / "receiver.log").string() + ")");
      }
      if (!size_failed && !opts.incremental_gaps_s.empty()) {
        progress.status("n=" + std::to_string(n) + " incremental dumps");
        RepContext ctx{tools, target, work.path() / ("n" + std::to_string(n) + "-inc"), n, 0, false, reference,
                       cgroup.get()};
        try {
          const auto inc = measure_incremental(ctx, opts.incremental_gaps_s);
          res.incremental.insert(res.incremental.end(), inc.begin(), inc.end());
        } catch (const JobFailed& e) {
          if (stop_requested()) throw std::runtime_error("interrupted");
          warn("order " + std::to_string(n) + " incremental dumps: " + e.what());
        } catch (const std::exception& e) {
          if (stop_requested() || std::string(e.what()) == "interrupted") throw std::runtime_error("interrupted");
          warn("order " + std::to_string(n) + " incremental dumps failed: " + e.what());
        }
      }
    }
  } catch (const std::runtime_error& e) {
    if (!stop_requested() && std::string(e.what()) != "interrupted") throw;
    res.interrupted = true;
    progress.warn("interrupted: keeping the " + std::to_string(res.rows.size()) + " rows measured so far");
  }
  res.machine["link"] = res.link;
  res.machine["job_threads"] = opts.job_threads;
  res.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return res;
}

}  // namespace ckptsim::calib
