// Pieces of the measurement loop (private to calib).
#pragma once
#include <filesystem>
#include <string>

#include "calib/calibrate.h"
#include "calib/copy_target.h"

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
};

// Start the job under libckpt, checkpoint it once its matrices are ready, kill
// it, copy the image, restore it, check it progresses (or runs to the end and
// matches the reference), kill it. Throws on failure (JobFailed, ckpt/restart
// errors, TransferError, std::runtime_error("interrupted")).
MeasureRow measure_rep(const RepContext& ctx);

// Uninterrupted run without the library; returns wall seconds. Throws JobFailed.
double time_uninterrupted(const Tools& tools, int order, const std::filesystem::path& out,
                          const std::filesystem::path& log);

bool files_equal(const std::filesystem::path& a, const std::filesystem::path& b);

}  // namespace ckptsim::calib
