// How the model writes a checkpoint: in-process (the job stopped until the
// image is complete) or forked (stopped for the fork, then computing while the
// fork writes), chosen as `run` chooses it by default.
#include <string>

#include "sim/simulate.h"

namespace ckptsim::sim {

const char* to_string(DumpMode m) { return m == DumpMode::Forked ? "forked" : "in-process"; }

void set_dump_mode(Scenario& s, const std::string& requested) {
  const auto& p = s.profile;
  if (!requested.empty() && requested != "forked" && requested != "in-process")
    throw SimError("--dump-mode must be " + std::string(kDumpModeNames) + " (got '" + requested + "')");
  if (requested == "in-process") {
    s.dump_mode = DumpMode::InProcess;
    s.dump_mode_why = "--dump-mode in-process";
    return;
  }
  if (requested == "forked") {
    if (!p.forked.known())
      throw SimError("--dump-mode forked: profile '" + p.name +
                     "' has no forked dump costs (ckptsim calibrate measures them)");
    if (s.incremental && !p.incremental.forked.known())
      throw SimError("--dump-mode forked with --incremental: profile '" + p.name +
                     "' has no forked incremental dump costs (ckptsim calibrate measures them)");
    s.dump_mode = DumpMode::Forked;
    s.dump_mode_why = "--dump-mode forked";
    return;
  }
  // run's default: forked where it can be.
  s.dump_mode = DumpMode::InProcess;
  if (!p.forked.known())
    s.dump_mode_why = "profile '" + p.name + "' has no forked dump costs: in-process full dumps, as `run --no-fork`";
  else if (s.incremental && !p.incremental.forked.known())
    s.dump_mode_why = "profile '" + p.name + "' has no forked incremental dump costs: in-process incremental dumps, "
                      "as `run --no-fork --incremental`";
  else {
    s.dump_mode = DumpMode::Forked;
    s.dump_mode_why = "run's default";
  }
}

std::string describe_dump_mode(const Scenario& s) {
  return std::string(to_string(s.dump_mode)) + (s.dump_mode_why.empty() ? "" : " (" + s.dump_mode_why + ")");
}

// The room check at this order: a job whose copies would not fit is dumped in-process.
bool dumps_forked(const Scenario& s) {
  return s.dump_mode == DumpMode::Forked && s.profile.forked_fits(s.profile.job_process_bytes(s.order));
}

double full_dump_stop_s(const Scenario& s) {
  return dumps_forked(s) ? s.profile.job_forked_stop_s(s.order) : s.profile.job_dump_s(s.order);
}

double full_dump_write_s(const Scenario& s) { return dumps_forked(s) ? s.profile.job_forked_write_s(s.order) : 0.0; }

}  // namespace ckptsim::sim
