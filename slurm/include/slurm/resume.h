// `ckptsim run --resume`: one command for a batch script that starts a job the
// first time and, on every requeue, brings it back from its last complete image.
#pragma once
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "ckpt/control.h"

namespace ckptsim::slurm {

// The image directory holds images of another command: resuming would run
// something else. The CLI maps it to exit 2.
struct OtherCommand : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct ResumePlan {
  std::vector<std::filesystem::path> images;  // of this command, newest first; empty: start afresh
  std::vector<std::string> notes;  // one line each: images passed over and why, or why it starts afresh
};

// The newest image of dir whose manifest reads and whose program is argv (same
// absolute executable and arguments): DIR/latest first, then ckpt-NNNN from the
// highest number down; half-written ones (.tmp-*) are never candidates.
// Throws OtherCommand when the newest readable image is of another command.
ResumePlan plan_resume(const std::filesystem::path& dir, const std::vector<std::string>& argv);

// Runs opts.argv as ckpt::run_preloaded does, or restores it from the image
// plan_resume picks (an image that fails verification is passed over for the
// next one) and follows it with ckpt::supervise. Notes go to stderr, one line
// each, prefixed "ckptsim: run: ". Returns the job's shell-style status.
int run_or_resume(const ckpt::RunOptions& opts);

// Inside a Slurm job (SLURM_JOB_ID set): `scontrol requeue` it, so that it runs
// again (and resumes) after a checkpoint-and-stop. Returns false, with why,
// outside Slurm or when scontrol fails.
bool requeue_this_job(std::string* why);

}  // namespace ckptsim::slurm
