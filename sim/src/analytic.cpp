#include "sim/analytic.h"

#include <cmath>
#include <string>

#include "models/interval.h"

namespace ckptsim::sim::analytic {

namespace {

void require(bool ok, const std::string& what) {
  if (!ok) throw AnalyticError(what);
}

bool finite_nonneg(double v) { return std::isfinite(v) && v >= 0; }
bool finite_pos(double v) { return std::isfinite(v) && v > 0; }

// F(x) = 1 − (1 − x)e^x = Σ_{k≥2} (k−1) x^k / k!. The closed form cancels
// catastrophically for small x, so the series is used there.
double one_minus_one_minus_x_exp_x(double x) {
  if (x >= 0.1) return x * std::exp(x) - std::expm1(x);
  double term = x;  // x^k / k!, starting at k = 1
  double sum = 0;
  for (int k = 2; k < 30; ++k) {
    term *= x / k;
    sum += (k - 1) * term;
  }
  return sum;
}

}  // namespace

// The formulas live with the cost model (models/interval.h): `run --interval
// auto` uses them too. Here they keep the analytic module's one error type.
double young_interval(double C, double M) {
  try {
    return models::young_interval(C, M);
  } catch (const models::IntervalError& e) {
    throw AnalyticError(e.what());
  }
}

double daly_interval(double C, double M) {
  try {
    return models::daly_interval(C, M);
  } catch (const models::IntervalError& e) {
    throw AnalyticError(e.what());
  }
}

double expected_time(const Costs& k, double lambda, double tau) {
  require(finite_pos(k.W), "work must be a finite number > 0");
  require(finite_nonneg(k.C) && finite_nonneg(k.R) && finite_nonneg(k.D),
          "checkpoint, restore and downtime costs must be finite numbers >= 0");
  require(finite_nonneg(lambda), "failure rate must be a finite number >= 0");
  require(finite_pos(tau), "checkpoint interval must be a finite number > 0");
  if (lambda == 0) return k.W * (tau + k.C) / tau;
  return k.W / tau * std::exp(lambda * k.R) * (1 / lambda + k.D) * std::expm1(lambda * (tau + k.C));
}

double optimal_interval(double C, double lambda) {
  require(finite_pos(C), "checkpoint cost must be a finite number > 0 for an optimal interval");
  require(finite_pos(lambda), "failure rate must be a finite number > 0 for an optimal interval");
  // Solve F(x) = 1 − e^{−λC} on (0, 1). F(x) lies between x²/2 and x² there,
  // which brackets the root; bisect until the bracket stops shrinking.
  const double target = -std::expm1(-lambda * C);
  double lo = std::sqrt(target);
  double hi = std::fmin(1.0, std::sqrt(2 * target));
  for (int i = 0; i < 200 && lo < hi; ++i) {
    const double mid = 0.5 * (lo + hi);
    if (mid <= lo || mid >= hi) break;
    if (one_minus_one_minus_x_exp_x(mid) < target)
      lo = mid;
    else
      hi = mid;
  }
  return 0.5 * (lo + hi) / lambda;
}

double single_kill_interval(double W, double C, double p) {
  require(finite_pos(W), "work must be a finite number > 0");
  require(finite_nonneg(C), "checkpoint cost must be a finite number >= 0");
  require(std::isfinite(p) && p > 0 && p <= 1, "kill probability must be in (0, 1]");
  return std::sqrt(2 * W * C / p);
}

double single_kill_expected_time(const Costs& k, double p, double tau) {
  require(finite_pos(k.W), "work must be a finite number > 0");
  require(finite_nonneg(k.C) && finite_nonneg(k.R) && finite_nonneg(k.D),
          "checkpoint, restore and downtime costs must be finite numbers >= 0");
  require(std::isfinite(p) && p >= 0 && p <= 1, "kill probability must be in [0, 1]");
  require(finite_pos(tau), "checkpoint interval must be a finite number > 0");
  return k.W + k.W / tau * k.C + p * ((tau + k.C) / 2 + k.R + k.D);
}

double rate_from_kill_probability(double p, double T) {
  require(std::isfinite(p) && p >= 0 && p < 1, "kill probability must be in [0, 1)");
  require(finite_pos(T), "job length must be a finite number > 0");
  return -std::log1p(-p) / T;
}

double platform_mtbf(double node_mtbf, int nodes) {
  require(finite_pos(node_mtbf), "node MTBF must be a finite number > 0");
  require(nodes > 0, "number of nodes must be > 0");
  return node_mtbf / nodes;
}

}  // namespace ckptsim::sim::analytic
