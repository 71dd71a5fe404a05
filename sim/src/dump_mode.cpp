// How the model writes a checkpoint: in-process (the job stopped until the
// image is complete) or forked (stopped for the fork, then computing while the
// fork writes), chosen as `run` chooses it by default.
#include <string>

#include "sim/simulate.h"

namespace ckptsim::sim {

const char* to_string(DumpMode m) { return m == DumpMode::Forked ? "forked" : "in-process"; }

std::string missing_forked_costs(const models::Profile& p, bool incremental) {
  if (!p.forked.known()) return "profile '" + p.name + "' has no forked dump costs";
  if (incremental && !p.incremental.forked.known()) return "profile '" + p.name + "' has no forked incremental dump costs";
  return "";
}

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
    if (const std::string missing = missing_forked_costs(p, s.incremental); !missing.empty())
      throw SimError(std::string("--dump-mode forked") + (s.incremental ? " with --incremental: " : ": ") + missing +
                     " (ckptsim calibrate measures them)");
    s.dump_mode = DumpMode::Forked;
    s.dump_mode_why = "--dump-mode forked";
    return;
  }
  // run's default: forked where it can be.
  const std::string missing = missing_forked_costs(p, s.incremental);
  s.dump_mode = missing.empty() ? DumpMode::Forked : DumpMode::InProcess;
  if (missing.empty())
    s.dump_mode_why = "run's default";
  else if (!p.forked.known())
    s.dump_mode_why = missing + ": in-process full dumps, as `run --no-fork`";
  else
    s.dump_mode_why = missing + ": in-process incremental dumps, as `run --no-fork --incremental`";
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
