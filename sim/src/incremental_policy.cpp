// Incremental checkpoints in the model: which dumps of a job are full, which
// write only what changed, and what each costs (models/profile.h, Incremental).
#include <cmath>
#include <string>

#include "sim/simulate.h"

namespace ckptsim::sim {

void set_incremental(Scenario& s, bool incremental, std::optional<int> max_chain) {
  if (max_chain && !incremental) throw SimError("--max-chain needs --incremental");
  s.incremental = incremental;
  if (!incremental) return;
  if (!s.profile.incremental.known())
    throw SimError("--incremental: profile '" + s.profile.name +
                   "' has no incremental dump costs (ckptsim calibrate measures them)");
  s.max_chain = max_chain ? *max_chain : s.profile.incremental.max_chain;
  if (s.max_chain < 1) throw SimError("--max-chain must be at least 1 (incremental dumps on one full one)");
}

namespace {
// As the library counts: a full dump, max_chain incremental ones on it, a full one again.
bool full_dump(const Scenario& s, int k) { return !s.incremental || k % (s.max_chain + 1) == 0; }
}  // namespace

double checkpoint_cost_s(const Scenario& s, int k, double since_s) {
  const auto& p = s.profile;
  if (full_dump(s, k)) return full_dump_stop_s(s);
  return dumps_forked(s) ? p.job_forked_incremental_stop_s(s.order, since_s) : p.job_incremental_dump_s(s.order, since_s);
}

double checkpoint_write_s(const Scenario& s, int k, double since_s) {
  if (full_dump(s, k)) return full_dump_write_s(s);
  return dumps_forked(s) ? s.profile.job_forked_incremental_write_s(s.order, since_s) : 0.0;
}

double mean_checkpoint_cost_s(const Scenario& s, double interval_s) {
  if (!s.incremental) return full_dump_stop_s(s);
  double sum = 0;
  for (int k = 0; k <= s.max_chain; ++k) sum += checkpoint_cost_s(s, k, interval_s);
  return sum / (s.max_chain + 1);
}

}  // namespace ckptsim::sim
