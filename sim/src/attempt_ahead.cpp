// Each step's time is computed as the step-by-step run's activity computes it
// (replication_attempt.cpp: run_attempt, forked_dump, disk_time), so the two agree
// (tests/sim/test_golden.cpp runs both against the same golden files).
#include "attempt_ahead.h"

#include <algorithm>
#include <cmath>

namespace ckptsim::sim {

namespace {

// disk_time's sole-user sleep: the bytes the profile's cost is, at the disk's rate.
double disk_s(double seconds, double Bps) {
  const uint64_t bytes = io_bytes(seconds, Bps);
  return bytes == 0 ? 0 : static_cast<double>(bytes) / Bps;
}

}  // namespace

uint64_t io_bytes(double seconds, double Bps) { return static_cast<uint64_t>(std::llround(seconds * Bps)); }

AttemptAhead::AttemptAhead(const JobCosts& c, const JobProgress& before, const AttemptSite& site, double now,
                           double from, bool restore)
    : before_(before), start_(now) {
  JobProgress p = before;
  double t = now;
  const double speed = site.flops_per_s;
  const auto compute = [&](double seconds) { t += seconds * speed / speed; };
  if (restore) {
    story_at_.push_back(t);
    t += disk_s(c.restore_s, site.read_Bps);
  }
  double at = from;
  for (size_t k = 0; k < c.checkpoints.size(); ++k) {
    const double cp = c.checkpoints[k];
    if (cp <= at) continue;
    compute(cp - at);
    at = cp;
    if (c.forked) {  // the previous fork's write completes first
      if (p.pending_node >= 0) {
        const double waited = t;
        if (p.pending_ready_at > t) t += p.pending_ready_at - t;
        if (t > waited) story_at_.push_back(t);
        p.checkpointed = p.pending_checkpointed;
        p.image_node = p.pending_node;
        p.pending_node = -1;
        change(t, p);
      }
      story_at_.push_back(t);
      t += c.dump_s[k];
      p.pending_checkpointed = cp;
      p.pending_node = site.node;
      p.pending_ready_at = t + c.write_s[k];
      change(t, p);
      continue;
    }
    story_at_.push_back(t);
    t += disk_s(c.dump_s[k], site.write_Bps);
    p.checkpointed = cp;
    p.image_node = site.node;
    change(t, p);
  }
  if (c.work_s > at) compute(c.work_s - at);
  p.done = true;
  change(t, p);
  end_ = t;
}

JobProgress AttemptAhead::progress_at(double t) const {
  const auto after = std::upper_bound(changes_.begin(), changes_.end(), t,
                                      [](double when, const Change& ch) { return when < ch.at; });
  return after == changes_.begin() ? before_ : std::prev(after)->progress;
}

int AttemptAhead::stories_by(double t) const {
  return static_cast<int>(std::upper_bound(story_at_.begin(), story_at_.end(), t) - story_at_.begin());
}

}  // namespace ckptsim::sim
