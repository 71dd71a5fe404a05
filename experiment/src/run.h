// One replication of one cell, for real: each regular slot runs its jobs one
// after the other (round robin submission); a doomed job's first attempt is
// SIGKILLed (its whole process group) at its drawn time; checkpoints are the
// job's checkpoint signal; the case's rule then restarts it from scratch (III),
// after the slot's reboot delay (IIIp), restores its image in place (IV) or
// copies the image to another slot and restores it there (V, by placement).
#pragma once
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "copy.h"
#include "plan.h"
#include "slots.h"

namespace ckptsim::experiment {

struct RunTools {
  std::filesystem::path ckptsim_exe, matmul_exe;
  std::filesystem::path outputs;  // job outputs and the references (case I's bytes per order)
  std::filesystem::path logs;     // one log per attempt
};

struct ReplicationPlan {
  Cell cell;
  int replication = 0;
  std::vector<sim::JobFailureDraw> jobs;
  double failure_free_s = 0;     // the real failure-free run a kill fraction is taken of
  double checkpoint_after_s = 0; // an attempt from scratch checkpoints this long after it starts
  double reboot_s = 0;
  sim::VPlacement placement = sim::VPlacement::Queue;
  sim::DumpMode dump_mode = sim::DumpMode::InProcess;  // the real jobs': run --no-fork, or forked
};

struct ReplicationOutcome {
  std::vector<double> turnarounds;  // per job, in draw order
  int kills = 0, migrations = 0;
  bool interrupted = false;
};

// Runs it; every job's output is compared with the order's reference (the
// first case-I output becomes it). Throws RunFailed (after killing everything
// it started and cleaning the slots) when a job ends other than by our kill,
// an output differs, or a copy fails. On Ctrl-C (calib's stop flag) kills
// everything and returns interrupted.
ReplicationOutcome run_replication(const ReplicationPlan& plan, const std::vector<Slot>& slots,
                                   const CopyChannel* copy, const RunTools& tools,
                                   const std::function<void(const std::string&)>& status);

}  // namespace ckptsim::experiment
