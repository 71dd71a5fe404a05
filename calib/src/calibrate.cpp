// calibrate's options checked against this machine (memory, rights, the
// orders the compute fit needs); the run itself is calibration_run.cpp.
#include "calib/calibrate.h"
#include "calib/shared_storage.h"

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
#include "ckpt/control.h"
#include "calibrate_internal.h"
#include "measure_internal.h"
#include "restart/restart.h"
#include "util/progress_bar.h"
#include "util/stop.h"

namespace fs = std::filesystem;

namespace ckptsim::calib {

std::string mb(double bytes) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f MB", bytes / 1e6);
  return b;
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

std::string too_big(const std::string& what, int order, uint64_t need) {
  return what + " " + std::to_string(order) + " needs about " + mb(static_cast<double>(need)) + " of memory, only " +
         mb(static_cast<double>(mem_available_bytes())) + " available (MemAvailable)";
}

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
  if (!opts.shared_dir.empty()) check_shared_probe(SharedProbe{opts.shared_dir, 256ull << 20, opts.shared_writers});
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

}  // namespace ckptsim::calib
