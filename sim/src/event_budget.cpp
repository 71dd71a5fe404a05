// How many simulated events a run needs, estimated before anything starts, so
// that a typo (an MTBF of 1e-300 s, a 1 µs interval, 2^31 jobs) is refused in a
// moment instead of running for ever.
#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>

#include "sim/analytic.h"
#include "sim/simulate.h"

namespace ckptsim::sim {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

double nonneg(double v) { return std::isfinite(v) && v > 0 ? v : 0.0; }

// The parts of one cell's estimate, per job and in total.
struct Estimate {
  double jobs = 0;      // jobs simulated over all replications
  double segments = 0;  // compute segments per job, redone work included
  double failures = 0;  // failures per job
  double idle_failures = 0;  // failures of case V's spare nodes while idle, over all replications
  double total() const {
    const double per_job = 3 * segments + 4 * failures + 4;
    const double all = jobs * per_job + 4 * idle_failures;
    return std::isfinite(all) ? all : kInf;
  }
};

Estimate estimate(const Scenario& s) {
  Estimate e;
  e.jobs = static_cast<double>(s.nodes) * s.jobs_per_node * s.replications;
  const auto& p = s.profile;
  const double W = p.job_compute_s(s.order);
  if (!(W > 0) || !std::isfinite(W)) return e;  // validate() refuses it
  const double C = nonneg(p.job_dump_s(s.order));
  const double R = nonneg(p.job_restore_s(s.order)) + (s.c == Case::V ? nonneg(p.job_copy_s(s.order)) : 0.0);
  const double D = nonneg(p.reboot_s);
  const bool periodic = takes_checkpoints(s.c) && s.interval_s > 0;
  // The longest stretch of compute between two checkpoints, and how many there are.
  double tau = W, segments = 1;
  if (periodic) {
    tau = std::fmin(s.interval_s, W);
    segments = std::ceil(W / tau);
  } else if (takes_checkpoints(s.c)) {
    tau = std::fmax(s.checkpoint_at, 1 - s.checkpoint_at) * W;
    segments = 2;
  }
  const double failure_free = W + (segments - 1) * C;
  double expected = failure_free;
  if (has_failures(s.c) && s.failures.kind == FailureModel::Kind::PerJob) {
    e.failures = s.failures.p;
    expected = failure_free * (1 + s.failures.p);
  } else if (has_failures(s.c)) {
    // Exponential failures of the same mean stand in for Weibull ones.
    const double lambda = 1 / s.failures.mtbf_s;
    try {
      const bool restores = takes_checkpoints(s.c);
      expected = analytic::expected_time({W, restores ? C : 0.0, restores ? R : 0.0, D}, lambda, tau);
      if (!std::isfinite(lambda)) expected = kInf;
    } catch (const analytic::AnalyticError&) {
      expected = kInf;
    }
    e.failures = expected * lambda;
    // Spares fail like compute nodes over the run (a node's queue: jobs_per_node
    // jobs); a migrated job's wait for a node (queue, spare) is a few events
    // more, counted in its failure's 4.
    if (s.c == Case::V && s.spares > 0)
      e.idle_failures = static_cast<double>(s.spares) * s.replications * s.jobs_per_node * expected * lambda;
  }
  e.segments = segments * std::fmax(1.0, expected / failure_free);
  return e;
}

double total(const std::vector<Scenario>& cells, const std::function<void(Scenario&)>& change = {}) {
  double sum = 0;
  for (Scenario s : cells) {
    if (change) change(s);
    sum += estimate(s).total();
  }
  return sum;
}

// The smallest x in [lo, hi] (log scale) for which fits(x), assuming fits is
// monotone there; NaN if even hi does not fit.
double smallest_fitting(double lo, double hi, const std::function<bool(double)>& fits) {
  if (!fits(hi)) return std::nan("");
  if (fits(lo)) return lo;
  for (int i = 0; i < 200 && hi / lo > 1.001; ++i) {
    const double mid = std::sqrt(lo * hi);
    (fits(mid) ? hi : lo) = mid;
  }
  return hi;
}

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

}  // namespace

double estimated_events(const Scenario& s) { return estimate(s).total(); }

void check_event_budget(const std::vector<Scenario>& cells,
                        const std::function<std::vector<Scenario>(double mtbf_s)>& cells_for_mtbf) {
  const double need = total(cells);
  if (need <= kMaxEvents) return;
  // Which part of the worst cell dominates: checkpoints, failures or the job count.
  const Scenario* worst = &cells.front();
  Estimate w = estimate(*worst);
  for (const auto& s : cells)
    if (const Estimate e = estimate(s); !(e.total() <= w.total())) worst = &s, w = e;
  const std::string head = "the run would need " +
                           (std::isfinite(need) ? "about " + num(need) : std::string("endlessly many")) +
                           " simulated events, more than the " + num(kMaxEvents) + " accepted (about 8 core-minutes): ";
  const auto fits = [&](const std::function<void(Scenario&)>& change) { return total(cells, change) <= kMaxEvents; };
  const double W = worst->profile.job_compute_s(worst->order);
  const std::string job = "a job of order " + std::to_string(worst->order) + " (" + num(W) + " s of compute)";
  if (has_failures(worst->c) && worst->failures.kind == FailureModel::Kind::Node && !(w.failures * 4 < 3 * w.segments) &&
      w.failures > 1) {
    const double mtbf = smallest_fitting(worst->failures.mtbf_s, 1e15, [&](double m) {
      if (cells_for_mtbf) return total(cells_for_mtbf(m)) <= kMaxEvents;
      return fits([m](Scenario& s) { s.failures.mtbf_s = std::fmax(s.failures.mtbf_s, m); });
    });
    if (std::isfinite(mtbf))
      throw SimError(head + "with --mtbf " + num(worst->failures.mtbf_s) + " s " + job + " expects " +
                     (std::isfinite(w.failures) ? num(w.failures) : std::string("endless")) +
                     " failures; an MTBF of at least " + num(mtbf) + " s would be accepted");
  }
  if (worst->interval_s > 0 && takes_checkpoints(worst->c) && w.segments > 4) {
    const double interval = smallest_fitting(worst->interval_s, std::fmax(W, worst->interval_s), [&](double t) {
      return fits([t](Scenario& s) {
        if (s.interval_s > 0) s.interval_s = std::fmax(s.interval_s, t);
      });
    });
    if (std::isfinite(interval))
      throw SimError(head + "an interval of " + num(worst->interval_s) + " s cuts " + job + " into " +
                     num(w.segments) + " pieces; intervals of at least " + num(interval) + " s would be accepted");
  }
  const double jobs = std::floor(w.jobs * kMaxEvents / need);
  const std::string per_cell = num(w.jobs) + " jobs per cell (nodes x jobs per node x replications) over " +
                               std::to_string(cells.size()) + " cell(s)";
  if (!(jobs >= 1))
    throw SimError(head + "even one job per cell would need more with these failures and intervals: a longer "
                          "--mtbf or --interval is needed");
  throw SimError(head + per_cell + "; at most about " + num(jobs) + " jobs per cell would be accepted");
}

}  // namespace ckptsim::sim
