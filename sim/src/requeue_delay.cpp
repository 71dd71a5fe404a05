// The scheduler's requeue delay in a scenario: the --requeue-delay option, or
// the profile's scheduler.requeue_delay_s, or none (docs/simulating.md,
// "Requeue delay"). The model applies it in replication_recovery.cpp.
#include <cmath>
#include <cstdio>
#include <string>

#include "sim/simulate.h"

namespace ckptsim::sim {

double requeue_delay_s(const Scenario& s) {
  if (s.requeue_delay_s) return *s.requeue_delay_s;
  return s.profile.scheduler.requeue_delay_s.value_or(0.0);
}

void set_requeue_delay(Scenario& s, std::optional<double> seconds) {
  if (!seconds) return;
  if (!std::isfinite(*seconds) || !(*seconds >= 0))
    throw SimError("--requeue-delay must be a finite number of seconds >= 0");
  s.requeue_delay_s = seconds;
}

std::string describe_requeue_delay(const Scenario& s) {
  const double d = requeue_delay_s(s);
  if (!(d > 0)) return "";
  char buf[96];
  std::snprintf(buf, sizeof buf, "requeue delay %g s (%s)", d, s.requeue_delay_s ? "--requeue-delay" : "profile");
  return buf;
}

}  // namespace ckptsim::sim
