#include "models/interval.h"

#include <cmath>
#include <cstdio>

namespace ckptsim::models {

namespace {

void require(bool ok, const std::string& what) {
  if (!ok) throw IntervalError(what);
}

bool finite_nonneg(double v) { return std::isfinite(v) && v >= 0; }
bool finite_pos(double v) { return std::isfinite(v) && v > 0; }

}  // namespace

double young_interval(double C, double M) {
  require(finite_nonneg(C), "checkpoint cost must be a finite number >= 0");
  require(finite_pos(M), "MTBF must be a finite number > 0");
  return std::sqrt(2 * C * M);
}

double daly_interval(double C, double M) {
  require(finite_nonneg(C), "checkpoint cost must be a finite number >= 0");
  require(finite_pos(M), "MTBF must be a finite number > 0");
  if (C >= 2 * M) return M;
  const double r = C / (2 * M);
  return std::sqrt(2 * C * M) * (1 + std::sqrt(r) / 3 + r / 9) - C;
}

double AutoInterval::next(double cost_s) const {
  return daly_interval(cost_s < 0 ? kAssumedDumpS : cost_s, mtbf_s);
}

std::string AutoInterval::explain(double cost_s) const {
  char buf[160];
  if (cost_s < 0)
    std::snprintf(buf, sizeof buf, "Daly, no dump measured yet: assumed C = %g s, MTBF %g s", kAssumedDumpS, mtbf_s);
  else
    std::snprintf(buf, sizeof buf, "Daly, C = %.4f s, MTBF %g s", cost_s, mtbf_s);
  return buf;
}

AutoInterval daly_auto_interval(double mtbf_s) {
  require(finite_pos(mtbf_s), "--mtbf must be a finite number of seconds > 0");
  return AutoInterval{mtbf_s};
}

}  // namespace ckptsim::models
