// `ckptsim calibrate`: measure the real dump, copy and restore costs of the
// paper's job on this machine, and the job's own compute rate.
// Phases (one file each): measure (this header), fit (fit.h), report (report.h).
#pragma once
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/profile.h"

namespace ckptsim::util {
class ProgressBar;
}

namespace ckptsim::calib {

struct CalibrationOptions {
  std::vector<int> sizes;                      // matrix orders to checkpoint
  int reps = 3;
  std::string copy = "netns";                  // "netns", "loopback" or "HOST:PORT"
  std::filesystem::path work_dir;              // scratch for images (removed); empty: a mkdtemp in $TMPDIR or /var/tmp
  std::filesystem::path ckptsim_exe;           // runs `receive`; empty: /proc/self/exe
  std::filesystem::path matmul_exe;            // empty: ckpt-matmul next to ckptsim_exe
  std::filesystem::path libckpt;               // empty: ckpt::find_libckpt()
  // Orders of the timed uninterrupted runs (the job's compute time). Empty:
  // the checkpointed orders themselves, every one (compute_spread == 0) or a
  // spread sample of compute_spread of them, ends included.
  std::vector<int> compute_sizes;
  int compute_spread = 0;
  int verify_order = 0;                        // restored job runs to the end here; 0: the smallest size
  uint64_t disk_probe_bytes = 256ull << 20;    // 0: don't measure the disk
  // Not empty: also measure this directory as the nodes' shared file system
  // (shared_storage.h), with this many writers at once.
  std::filesystem::path shared_dir;
  int shared_writers = 4;
  bool keep_work_dir = false;
  int job_threads = 1;                         // ckpt-matmul --threads: the measured job's thread count
  // Per order, a job under CKPT_INCREMENTAL=1 gets a full dump and then one
  // incremental dump after each of these seconds of compute (empty: none).
  std::vector<double> incremental_gaps_s = {0.5, 1.0};
  // Per order, one forked dump (CKPT_FORK=1, run's default) of a job once its
  // matrices are ready: what it stops the job, how long the fork writes.
  bool forked_dumps = true;
  // > 0: jobs, dumps and restores run in a fresh memory cgroup with this limit
  // (memory_cgroup.h): this machine stands in for a node with that much RAM.
  uint64_t memory_limit_bytes = 0;
};

// The smallest --memory-limit accepted: the job, `ckptsim restart` and the
// dump's buffers need a few MiB before any matrix.
inline constexpr uint64_t kMinMemoryLimitBytes = 32ull << 20;

// One checkpoint/copy/restore of one job.
struct MeasureRow {
  int order = 0, rep = 0;
  uint64_t rss_bytes = 0, mapped_bytes = 0;   // the job when it was checkpointed
  uint64_t image_bytes = 0, image_disk_bytes = 0;
  int image_files = 0;
  double dump_s = 0;      // signal -> image complete (job stopped meanwhile)
  double hash_s = 0;      // hashing the image for the transfer header
  double copy_s = 0;      // connect -> receiver verified every checksum
  double restore_s = 0;   // restore_process call -> process running again
  std::string restored_from;  // "received copy" or "local image"
  bool progressing = false;   // restored job's CPU time grew
  bool output_verified = false;  // ran to the end, output == uninterrupted run (verify order only)
  int64_t swapped_pages = 0;     // pswpout delta during this row
  bool suspect = false;          // swapping, or RSS well below the matrices' size
  // Under --memory-limit (zero/empty otherwise):
  std::string oom;               // "" or what the OOM killer ended: "job", "dump", "restore", "restored job"
  uint64_t dump_peak_bytes = 0;     // the group's peak while the job was built and dumped
  uint64_t restore_peak_bytes = 0;  // ... while the image was restored and the job ran again
  uint64_t limit_hits = 0;          // times the limit forced reclaim during this row
  bool ok() const { return oom.empty(); }
};

struct ComputeRow {
  int order = 0;
  double seconds = 0;  // wall time of an uninterrupted run
  bool oom = false;    // OOM-killed under --memory-limit (seconds meaningless)
  uint64_t peak_bytes = 0;  // the group's peak (--memory-limit)
};

// One incremental dump of the job (run --incremental), `since_s` of compute
// after the previous dump of the same job.
struct IncrementalRow {
  int order = 0;
  uint64_t process_bytes = 0;  // the job's RSS
  uint64_t written_bytes = 0;  // memory the dump wrote (manifest written.memory_bytes)
  uint64_t full_bytes = 0;     // what a full dump would have written
  double since_s = 0;          // wall time from the job running again to the signal
  double dump_s = 0;           // signal sent -> image complete, as MeasureRow::dump_s (what is fitted)
  double stopped_s = 0;        // the job's own account (manifest stopped_ns), for comparison
  // Forked (CKPT_FORK=1, run's default): stopped_s is the fork's stop and
  // dump_s the write the job computes through.
  bool forked = false;
};

// One forked dump of the job (CKPT_FORK=1): the job stopped only to fork, the
// fork writing the image while the job computes on.
struct ForkedRow {
  int order = 0;
  uint64_t process_bytes = 0;  // the job's RSS
  uint64_t image_bytes = 0;    // apparent size of the image directory
  double stop_s = 0;           // the job's own account of its stop (manifest stopped_ns)
  double write_s = 0;          // signal sent -> image complete (the fork's write included)
};

struct CalibrationResult {
  std::vector<MeasureRow> rows;
  std::vector<IncrementalRow> incremental;         // in-process (CKPT_FORK=0)
  std::vector<IncrementalRow> forked_incremental;  // forked, measured where forked dumps are
  std::vector<ForkedRow> forked;
  std::vector<ComputeRow> compute;
  nlohmann::json machine;   // describe_machine + link + disk rates
  nlohmann::json link;
  double nominal_link_Bps = 0;
  double disk_write_Bps = 0, disk_read_Bps = 0;
  models::SharedStorage shared;  // measured with CalibrationOptions::shared_dir
  std::vector<std::string> warnings;
  std::vector<int> skipped_sizes;
  bool interrupted = false;
  double elapsed_s = 0;
  std::string copy_kind;    // "netns", "loopback", "remote"
  uint64_t memory_limit_bytes = 0;  // the cgroup's limit (0: none)
  int cgroup_version = 0;
  std::vector<int> calibrated_orders;  // the checkpointed orders (the compute fit's range)
};

// The orders timed uninterrupted (CalibrationOptions::compute_sizes/spread).
std::vector<int> compute_orders(const CalibrationOptions& opts);

// Options that cannot work, found before anything is measured: one line, exit 2.
struct OptionsError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

// The memory one ckpt-matmul job of order n holds: its three n x n float
// matrices, 12·n² bytes.
double matrices_bytes(int order);

// Checks, before anything runs: --reps >= 1, sizes given; the compute runs and
// the verify order (which runs uninterrupted first, then is checkpointed and
// restored) fit in MemAvailable, and at least one checkpointed size does (the
// others are skipped with a warning while measuring); an explicit work_dir is
// an existing, writable directory (it is not created). Throws OptionsError.
void check_options(const CalibrationOptions& opts);

// Runs the whole measurement (check_options first). Never throws for a failed repetition or a size
// that does not fit in memory (warns and goes on); throws std::runtime_error
// when nothing can be measured at all (no library, no job binary...), and
// TransferError for an unreachable HOST:PORT. On Ctrl-C returns what it has,
// with interrupted = true.
CalibrationResult run_calibration(const CalibrationOptions& opts, util::ProgressBar& progress);

}  // namespace ckptsim::calib
