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

namespace ckptsim::calib {

class Progress;

struct CalibrationOptions {
  std::vector<int> sizes;                      // matrix orders to checkpoint
  int reps = 3;
  std::string copy = "netns";                  // "netns", "loopback" or "HOST:PORT"
  std::filesystem::path work_dir;              // scratch for images (removed); empty: a mkdtemp in $TMPDIR or /var/tmp
  std::filesystem::path ckptsim_exe;           // runs `receive`; empty: /proc/self/exe
  std::filesystem::path matmul_exe;            // empty: ckpt-matmul next to ckptsim_exe
  std::filesystem::path libckpt;               // empty: ckpt::find_libckpt()
  std::vector<int> compute_sizes = {300, 600, 900, 1200, 1500};  // uninterrupted, timed runs
  int verify_order = 0;                        // restored job runs to the end here; 0: the smallest size
  uint64_t disk_probe_bytes = 256ull << 20;    // 0: don't measure the disk
  bool keep_work_dir = false;
  int job_threads = 1;                         // ckpt-matmul --threads: the measured job's thread count
};

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
};

struct ComputeRow {
  int order = 0;
  double seconds = 0;  // wall time of an uninterrupted run
};

struct CalibrationResult {
  std::vector<MeasureRow> rows;
  std::vector<ComputeRow> compute;
  nlohmann::json machine;   // describe_machine + link + disk rates
  nlohmann::json link;
  double nominal_link_Bps = 0;
  double disk_write_Bps = 0, disk_read_Bps = 0;
  std::vector<std::string> warnings;
  std::vector<int> skipped_sizes;
  bool interrupted = false;
  double elapsed_s = 0;
  std::string copy_kind;    // "netns", "loopback", "remote"
};

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
CalibrationResult run_calibration(const CalibrationOptions& opts, Progress& progress);

}  // namespace ckptsim::calib
